import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { ThrottlerStorage } from '@nestjs/throttler';
import type Redis from 'ioredis';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * The shared counts in Redis, refused at once once the connection is lost: ioredis would queue the count
 * until it reconnects (backing off to 5 s, failing it after one retry), holding every request behind a
 * limit for up to 10 s. Each caller decides what a request it cannot count gets. Before the first
 * connection, at boot, counts wait for it.
 */
export class RedisThrottlerStorage implements ThrottlerStorage {
  private readonly storage: ThrottlerStorageRedisService;
  private connected: boolean;

  constructor(private readonly client: Redis) {
    this.storage = new ThrottlerStorageRedisService(client);
    this.connected = client.status === 'ready';
    client.once('ready', () => (this.connected = true));
  }

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    if (this.connected && this.client.status !== 'ready') {
      return Promise.reject(new Error(`Redis is ${this.client.status}: nothing counted`));
    }
    return this.storage.increment(key, ttl, limit, blockDuration, throttlerName);
  }
}
