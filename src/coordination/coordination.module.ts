import { Global, Module, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { RedisConnection } from '../redis/redis-connection';
import { GenerationRegistryStore } from './generation-registry.store';
import { MemoryGenerationRegistryStore } from './memory/memory-generation-registry.store';
import { MemoryRateLimitStore } from './memory/memory-rate-limit.store';
import { RateLimitStore } from './rate-limit.store';
import { RedisGenerationRegistryStore } from './redis/redis-generation-registry.store';
import { RedisRateLimitStore } from './redis/redis-rate-limit.store';

/** Shared hot state: in Redis when REDIS_URL is set, in process otherwise (single-instance mode). */
@Global()
@Module({
  providers: [
    {
      provide: GenerationRegistryStore,
      inject: [RedisConnection],
      useFactory: ({ client }: RedisConnection) =>
        client ? new RedisGenerationRegistryStore(client) : new MemoryGenerationRegistryStore(),
    },
    {
      provide: RateLimitStore,
      inject: [RedisConnection],
      useFactory: ({ client }: RedisConnection) =>
        client ? new RedisRateLimitStore(client) : new MemoryRateLimitStore(),
    },
  ],
  exports: [GenerationRegistryStore, RateLimitStore],
})
export class CoordinationModule implements OnApplicationShutdown {
  constructor(private readonly moduleRef: ModuleRef) {}

  async onApplicationShutdown(): Promise<void> {
    const registry = this.moduleRef.get(GenerationRegistryStore);
    if (registry instanceof RedisGenerationRegistryStore) await registry.close();
  }
}
