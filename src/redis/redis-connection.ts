import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';

/**
 * A command Redis has not answered by then fails (a server that hangs without closing the connection,
 * as in a long pause or a partition): what Chatbox keeps in Redis is either kept elsewhere too or can be
 * done without for a while, and nothing may wait on it forever (a turn's frames, a shutdown).
 */
export const REDIS_COMMAND_TIMEOUT_MS = 5000;

/** The shared Redis client, present only when REDIS_URL is set (otherwise: single-instance mode). */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  readonly client?: Redis;

  constructor(config: AppConfig) {
    if (config.redis.url) {
      this.client = new Redis(config.redis.url, { maxRetriesPerRequest: 1, commandTimeout: REDIS_COMMAND_TIMEOUT_MS });
      // Connection errors surface through readiness; without a listener ioredis would print each retry.
      this.client.on('error', () => undefined);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client?.quit().catch(() => this.client?.disconnect());
  }
}
