import { Global, Module } from '@nestjs/common';
import { ThrottlerModule, ThrottlerStorageService } from '@nestjs/throttler';
import { getToken } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { AppConfig } from '../config/app-config';
import { RATE_LIMIT_UNCOUNTED } from '../metrics/chatbox.metrics';
import { RedisConnection } from '../redis/redis-connection';
import { LocalFallbackThrottlerStorage } from './local-fallback-throttler.storage';
import { LeadershipStore } from './leadership.store';
import { RateLimitTally, RateLimitTallyModule, TalliedThrottlerStorage } from './rate-limit-tally';
import { MemoryLeadershipStore } from './memory/memory-leadership.store';
import { MemorySocketRegistryStore } from './memory/memory-socket-registry.store';
import { MemoryTurnBufferStore } from './memory/memory-turn-buffer.store';
import { MemoryTurnSignalStore } from './memory/memory-turn-signal.store';
import { RedisLeadershipStore } from './redis/redis-leadership.store';
import { RedisSocketRegistryStore } from './redis/redis-socket-registry.store';
import { RedisThrottlerStorage } from './redis/redis-throttler.storage';
import { RedisTurnBufferStore } from './redis/redis-turn-buffer.store';
import { RedisTurnSignalStore } from './redis/redis-turn-signal.store';
import { SocketRegistryStore } from './socket-registry.store';
import { TurnBufferStore } from './turn-buffer.store';
import { TurnSignalStore } from './turn-signal.store';

/** The named limits; `events` is per user on sockets, `public` per client address on unauthenticated routes. */
export const EVENTS_THROTTLER = 'events';
export const PUBLIC_THROTTLER = 'public';

/** Shared hot state: in Redis when REDIS_URL is set, in process otherwise (single-instance mode). */
@Global()
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      imports: [RateLimitTallyModule],
      inject: [AppConfig, RedisConnection, RateLimitTally, getToken(RATE_LIMIT_UNCOUNTED)],
      useFactory: (config: AppConfig, { client }: RedisConnection, tally: RateLimitTally, uncounted: Counter) => ({
        throttlers: [
          { name: EVENTS_THROTTLER, ttl: config.chat.rateLimit.windowMs, limit: config.chat.rateLimit.events },
          { name: PUBLIC_THROTTLER, ttl: 60000, limit: config.http.publicRateLimitPerMinute },
        ],
        // Given a client, the Redis storage leaves closing it to RedisConnection. Every decision is tallied;
        // a request Redis cannot count is counted on this replica alone (LocalFallbackThrottlerStorage says why).
        storage: new TalliedThrottlerStorage(
          client
            ? new LocalFallbackThrottlerStorage(
                new RedisThrottlerStorage(client),
                new ThrottlerStorageService(),
                uncounted,
              )
            : new ThrottlerStorageService(),
          tally,
        ),
      }),
    }),
  ],
  providers: [
    {
      provide: TurnSignalStore,
      inject: [RedisConnection],
      useFactory: ({ client }: RedisConnection) =>
        client ? new RedisTurnSignalStore(client) : new MemoryTurnSignalStore(),
    },
    {
      provide: TurnBufferStore,
      inject: [RedisConnection],
      useFactory: ({ client }: RedisConnection) =>
        client ? new RedisTurnBufferStore(client) : new MemoryTurnBufferStore(),
    },
    {
      provide: LeadershipStore,
      inject: [RedisConnection],
      useFactory: ({ client }: RedisConnection) =>
        client ? new RedisLeadershipStore(client) : new MemoryLeadershipStore(),
    },
    {
      provide: SocketRegistryStore,
      inject: [RedisConnection],
      useFactory: ({ client }: RedisConnection) =>
        client ? new RedisSocketRegistryStore(client) : new MemorySocketRegistryStore(),
    },
  ],
  exports: [TurnSignalStore, TurnBufferStore, LeadershipStore, SocketRegistryStore, ThrottlerModule],
})
export class CoordinationModule {}
