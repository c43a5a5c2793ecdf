import { Module } from '@nestjs/common';
import { LlmModule } from '../llm/llm.module';
import { SessionModule } from '../session/session.module';
import { MessageRouter } from './message-router.service';

@Module({ imports: [SessionModule, LlmModule], providers: [MessageRouter], exports: [MessageRouter] })
export class RouterModule {}
