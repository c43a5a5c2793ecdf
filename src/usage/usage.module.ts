import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AuthModule } from '../auth/auth.module';
import { SessionModule } from '../session/session.module';
import { AdminMetricsController } from './admin-metrics.controller';
import { AdminUserUsageController } from './admin-user-usage.controller';
import { ConcurrencySampleRepository } from './concurrency-sample.repository';
import { ConcurrencySampler } from './concurrency-sampler.service';
import { ConcurrencySampleDoc, ConcurrencySampleSchema } from './schemas/concurrency-sample.schema';
import { HeavyReadLimiter } from './heavy-read-limiter.service';
import { UsageService } from './usage.service';

/** Usage figures for administrators, and the cluster-wide concurrency samples they read. */
@Module({
  imports: [
    MongooseModule.forFeature([{ name: ConcurrencySampleDoc.name, schema: ConcurrencySampleSchema }]),
    AuthModule,
    SessionModule,
  ],
  controllers: [AdminMetricsController, AdminUserUsageController],
  providers: [UsageService, ConcurrencySampler, ConcurrencySampleRepository, HeavyReadLimiter],
})
export class UsageModule {}
