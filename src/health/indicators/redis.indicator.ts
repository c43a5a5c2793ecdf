import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { RedisConnection } from '../../redis/redis-connection';
import { withTimeout } from './with-timeout';

@Injectable()
export class RedisIndicator {
  constructor(
    private readonly redis: RedisConnection,
    private readonly indicator: HealthIndicatorService,
  ) {}

  async ping(timeoutMs: number) {
    const session = this.indicator.check('redis');
    try {
      if (!this.redis.client) return session.down({ message: 'not configured' });
      await withTimeout(this.redis.client.ping(), timeoutMs);
      return session.up();
    } catch (error) {
      return session.down({ message: (error as Error).message });
    }
  }
}
