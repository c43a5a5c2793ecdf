import { Global, Module } from '@nestjs/common';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfig } from '../config/app-config';
import { RedisConnection } from '../redis/redis-connection';
import { GenerationRegistryStore } from './generation-registry.store';
import { MemoryGenerationRegistryStore } from './memory/memory-generation-registry.store';
import { RedisGenerationRegistryStore } from './redis/redis-generation-registry.store';
import { MemorySocketRegistryStore } from './memory/memory-socket-registry.store';
import { RedisSocketRegistryStore } from './redis/redis-socket-registry.store';
import { SocketRegistryStore } from './socket-registry.store';

/** The named limits; `events` is per user on sockets, `public` per client address on unauthenticated routes. */
export const EVENTS_THROTTLER = 'events';
export const PUBLIC_THROTTLER = 'public';

/** Shared hot state: in Redis when REDIS_URL is set, in process otherwise (single-instance mode). */
@Global()
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig, RedisConnection],
      useFactory: (config: AppConfig, { client }: RedisConnection) => ({
        throttlers: [
          { name: EVENTS_THROTTLER, ttl: config.chat.rateLimit.windowMs, limit: config.chat.rateLimit.events },
          { name: PUBLIC_THROTTLER, ttl: 60000, limit: config.http.publicRateLimitPerMinute },
        ],
        // Given a client, the Redis storage leaves closing it to RedisConnection.
        storage: client ? new ThrottlerStorageRedisService(client) : undefined,
      }),
    }),
  ],
  providers: [
    {
      provide: GenerationRegistryStore,
      inject: [RedisConnection],
      useFactory: ({ client }: RedisConnection) =>
        client ? new RedisGenerationRegistryStore(client) : new MemoryGenerationRegistryStore(),
    },
    {
      provide: SocketRegistryStore,
      inject: [RedisConnection],
      useFactory: ({ client }: RedisConnection) =>
        client ? new RedisSocketRegistryStore(client) : new MemorySocketRegistryStore(),
    },
  ],
  exports: [GenerationRegistryStore, SocketRegistryStore, ThrottlerModule],
})
export class CoordinationModule {}
