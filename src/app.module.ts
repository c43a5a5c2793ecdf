import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { DestinationStream } from 'pino';
import { AuthModule } from './auth/auth.module';
import { RealtimeModule } from './common/realtime/realtime.module';
import { CoordinationModule } from './coordination/coordination.module';
import { AdminModule } from './admin/admin.module';
import { GatewayModule } from './gateway/gateway.module';
import { HttpExceptionFilter } from './common/http/http-exception.filter';
import { OperatorKeysGuard } from './common/http/operator-keys.guard';
import { LoggingModule } from './common/logging/logging.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { NotificationModule } from './notification/notification.module';
import { RedisModule } from './redis/redis.module';
import { SingleInstanceModule } from './lifecycle/single-instance.guard';
import { UploadModule } from './upload/upload.module';
import { UsageModule } from './usage/usage.module';
import { UserApiModule } from './user-api/user-api.module';

export interface AppModuleOptions {
  /** Where log lines go; stdout when absent. */
  logDestination?: DestinationStream;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(options.logDestination),
        DatabaseModule,
        SingleInstanceModule,
        RedisModule,
        AuthModule,
        CoordinationModule,
        RealtimeModule,
        GatewayModule,
        AdminModule,
        NotificationModule,
        UserApiModule,
        UploadModule,
        UsageModule,
        HealthModule,
        MetricsModule.forRoot(),
      ],
      providers: [
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
        { provide: APP_GUARD, useClass: OperatorKeysGuard },
      ],
    };
  }
}
