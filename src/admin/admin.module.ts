import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { GatewayModule } from '../gateway/gateway.module';
import { SessionModule } from '../session/session.module';
import { AdminGateway } from './admin.gateway';

@Module({
  imports: [AuthModule, SessionModule, GatewayModule],
  providers: [AdminGateway],
})
export class AdminModule {}
