import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { LlmModule } from '../llm/llm.module';
import { RouterModule } from '../router/router.module';
import { SessionModule } from '../session/session.module';
import { AckInterceptor } from './ack.interceptor';
import { ChatGateway } from './chat.gateway';
import { ConnectionLimiter } from './connection-limiter.service';
import { PresenceHeartbeat } from './presence-heartbeat.service';

@Module({
  imports: [AuthModule, RouterModule, LlmModule, SessionModule],
  providers: [ChatGateway, AckInterceptor, PresenceHeartbeat, ConnectionLimiter],
  exports: [ConnectionLimiter],
})
export class GatewayModule {}
