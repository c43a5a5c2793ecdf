import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Gauge } from 'prom-client';
import { DEGRADED } from '../../metrics/chatbox.metrics';
import { RedisConnection } from '../../redis/redis-connection';
import { withTimeout } from '../../common/timers/with-timeout';

/**
 * Whether Redis answers. Readiness reports it without depending on it; `chatbox_degraded{dependency="redis"}`
 * follows the connection: 1 from the moment it is lost until it is ready again.
 */
@Injectable()
export class RedisIndicator {
  constructor(
    private readonly redis: RedisConnection,
    private readonly indicator: HealthIndicatorService,
    @InjectMetric(DEGRADED) degraded: Gauge<string>,
  ) {
    const { client } = redis;
    if (!client) return;
    const report = () => degraded.set({ dependency: 'redis' }, client.status === 'ready' ? 0 : 1);
    report();
    for (const event of ['ready', 'close', 'end', 'reconnecting']) client.on(event, report);
  }

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
