import { Module } from '@nestjs/common';
import { LlmModule } from '../llm/llm.module';
import { SessionModule } from '../session/session.module';
import { TurnEngine } from './turn-engine.service';

@Module({ imports: [SessionModule, LlmModule], providers: [TurnEngine], exports: [TurnEngine] })
export class TurnModule {}
