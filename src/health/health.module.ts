import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DrainState } from './drain-state';
import { HealthController } from './health.controller';
import { DrainingIndicator } from './indicators/draining.indicator';
import { MongoIndicator } from './indicators/mongo.indicator';
import { RedisIndicator } from './indicators/redis.indicator';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' })],
  controllers: [HealthController],
  providers: [DrainState, DrainingIndicator, MongoIndicator, RedisIndicator],
  exports: [DrainState],
})
export class HealthModule {}
