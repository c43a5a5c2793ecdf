import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';

/** The shared Redis client, present only when REDIS_URL is set (otherwise: single-instance mode). */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  readonly client?: Redis;

  constructor(config: AppConfig) {
    if (config.redis.url) {
      this.client = new Redis(config.redis.url, { maxRetriesPerRequest: 1 });
      // Connection errors surface through readiness; without a listener ioredis would print each retry.
      this.client.on('error', () => undefined);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client?.quit().catch(() => this.client?.disconnect());
  }
}
