import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import type { Counter } from 'prom-client';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** A failure is logged at most this often per limit; the metric counts every request. */
const OUTAGE_LOG_INTERVAL_MS = 60_000;

/**
 * Every limit (socket events, admin requests, connection attempts, public routes) counts in the shared store
 * (Redis) so that spreading requests over replicas gains nothing. When that store fails (down, out of memory,
 * read-only after a failover, anything), the request is counted in this replica's own memory instead: the
 * limit still holds, per replica, rather than failing every request (internal errors for as long as the
 * outage lasts) or letting everything through. Each such request is counted in
 * `chatbox_rate_limit_uncounted_total{limit}`, and the failure logged at most once a minute per limit.
 */
export class LocalFallbackThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimits');
  private readonly loggedAt = new Map<string, number>();

  constructor(
    private readonly storage: ThrottlerStorage & Partial<OnApplicationShutdown>,
    private readonly local: ThrottlerStorage & Partial<OnApplicationShutdown>,
    private readonly uncounted: Counter<string>,
    private readonly now: () => number = Date.now,
  ) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    try {
      return await this.storage.increment(key, ttl, limit, blockDuration, throttlerName);
    } catch (error) {
      this.countLocally(throttlerName, error);
      return this.local.increment(key, ttl, limit, blockDuration, throttlerName);
    }
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    await this.storage.onApplicationShutdown?.(signal);
    await this.local.onApplicationShutdown?.(signal);
  }

  private countLocally(limit: string, error: unknown): void {
    this.uncounted.inc({ limit });
    const now = this.now();
    if (now - (this.loggedAt.get(limit) ?? -Infinity) < OUTAGE_LOG_INTERVAL_MS) return;
    this.loggedAt.set(limit, now);
    this.logger.warn(
      { err: error, limit },
      `could not count a request against the ${limit} limit in Redis; counting it on this replica alone (logged once a minute)`,
    );
  }
}
