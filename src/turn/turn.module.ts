import { Module } from '@nestjs/common';
import { LlmModule } from '../llm/llm.module';
import { SessionModule } from '../session/session.module';
import { TurnEngine } from './turn-engine.service';
import { UploadModule } from '../upload/upload.module';

@Module({ imports: [SessionModule, LlmModule, UploadModule], providers: [TurnEngine], exports: [TurnEngine] })
export class TurnModule {}
