import { Module } from '@nestjs/common';
import { LlmModule } from '../llm/llm.module';
import { SessionModule } from '../session/session.module';
import { TurnModule } from '../turn/turn.module';
import { UploadModule } from '../upload/upload.module';
import { MessageRouter } from './message-router.service';

@Module({
  imports: [SessionModule, LlmModule, TurnModule, UploadModule],
  providers: [MessageRouter],
  exports: [MessageRouter],
})
export class RouterModule {}
