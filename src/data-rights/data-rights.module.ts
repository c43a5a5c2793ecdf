import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { NotificationModule } from '../notification/notification.module';
import { SessionModule } from '../session/session.module';
import { TurnModule } from '../turn/turn.module';
import { UploadModule } from '../upload/upload.module';
import { DataRightsService } from './data-rights.service';
import { RetentionSweeper } from './retention-sweeper.service';

/** A user's rights over their data: a copy of it (export), its erasure, and its deletion after RETENTION_DAYS. */
@Module({
  imports: [SessionModule, TurnModule, NotificationModule, AuditModule, UploadModule],
  providers: [DataRightsService, RetentionSweeper],
  exports: [DataRightsService],
})
export class DataRightsModule {}
