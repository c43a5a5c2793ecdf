import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { AckInterceptor } from '../gateway/ack.interceptor';
import { GatewayModule } from '../gateway/gateway.module';
import { SessionModule } from '../session/session.module';
import { TurnModule } from '../turn/turn.module';
import { UploadModule } from '../upload/upload.module';
import { AdminAuditController } from './admin-audit.controller';
import { AdminHoldKeeper } from './admin-hold-keeper.service';
import { AdminUsersController } from './admin-users.controller';
import { AdminSessionsService } from './admin-sessions.service';
import { AdminSessionsController } from './admin-sessions.controller';
import { AdminGateway } from './admin.gateway';
import { TakeoverService } from './takeover.service';

@Module({
  imports: [AuthModule, SessionModule, GatewayModule, TurnModule, AuditModule, UploadModule],
  controllers: [AdminSessionsController, AdminAuditController, AdminUsersController],
  providers: [AdminGateway, TakeoverService, AdminSessionsService, AdminHoldKeeper, AckInterceptor],
})
export class AdminModule {}
