import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import type { Counter } from 'prom-client';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** An outage is logged at most this often per limit; the metric counts every request. */
const OUTAGE_LOG_INTERVAL_MS = 60_000;

const UNCOUNTED: ThrottlerStorageRecord = { totalHits: 0, timeToExpire: 0, isBlocked: false, timeToBlockExpire: 0 };

/**
 * Every limit (socket events, admin requests, connection attempts, public routes) lets a request through
 * uncounted when the shared counts cannot be reached (Redis down): readiness reports the outage, and
 * refusing every user and administrator for as long as it lasts would be worse than a window without
 * limits. Each such request is counted in `chatbox_rate_limit_uncounted_total{limit}`, and the outage
 * logged at most once a minute per limit.
 */
export class FailOpenThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimits');
  private readonly loggedAt = new Map<string, number>();

  constructor(
    private readonly storage: ThrottlerStorage & Partial<OnApplicationShutdown>,
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
      this.letThrough(throttlerName, error);
      return UNCOUNTED;
    }
  }

  onApplicationShutdown(signal?: string): unknown {
    return this.storage.onApplicationShutdown?.(signal);
  }

  private letThrough(limit: string, error: unknown): void {
    this.uncounted.inc({ limit });
    const now = this.now();
    if (now - (this.loggedAt.get(limit) ?? -Infinity) < OUTAGE_LOG_INTERVAL_MS) return;
    this.loggedAt.set(limit, now);
    this.logger.warn(
      { err: error, limit },
      `could not count a request against the ${limit} limit; letting it through (logged once a minute)`,
    );
  }
}
