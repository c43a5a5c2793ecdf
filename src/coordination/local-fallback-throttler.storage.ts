import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import type { Counter } from 'prom-client';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** A failure is logged at most this often per limit; the metric counts every request. */
const OUTAGE_LOG_INTERVAL_MS = 60_000;
/** A count in Redis takes well under a millisecond; one not answered within this is given up on. */
const SHARED_DEADLINE_MS = 500;
/** After an answer that never came (Redis hung, its connection open), Redis is not asked for this long. */
const HUNG_PAUSE_MS = 5_000;

class SharedStorageHung extends Error {
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms: nothing counted`);
  }
}

/**
 * Every limit (socket events, admin requests, connection attempts, public routes) counts in the shared store
 * (Redis) so that spreading requests over replicas gains nothing. When that store fails (down, out of memory,
 * read-only after a failover, hung without an answer within SHARED_DEADLINE_MS, anything), the request is
 * counted in this replica's own memory instead — and, after a hang, for HUNG_PAUSE_MS without asking Redis: the
 * limit still holds, per replica, rather than failing every request (internal errors for as long as the
 * outage lasts) or letting everything through. Each such request is counted in
 * `chatbox_rate_limit_uncounted_total{limit}`, and the failure logged at most once a minute per limit.
 */
export class LocalFallbackThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimits');
  private readonly loggedAt = new Map<string, number>();
  /** Until when Redis is not asked, after it left a count unanswered. */
  private hungUntil = -Infinity;

  constructor(
    private readonly storage: ThrottlerStorage & Partial<OnApplicationShutdown>,
    private readonly local: ThrottlerStorage & Partial<OnApplicationShutdown>,
    private readonly uncounted: Counter<string>,
    private readonly now: () => number = Date.now,
    private readonly deadlineMs = SHARED_DEADLINE_MS,
  ) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    try {
      if (this.now() < this.hungUntil) throw new SharedStorageHung(this.deadlineMs);
      return await this.withinDeadline(this.storage.increment(key, ttl, limit, blockDuration, throttlerName));
    } catch (error) {
      if (error instanceof SharedStorageHung && this.now() >= this.hungUntil)
        this.hungUntil = this.now() + HUNG_PAUSE_MS;
      this.countLocally(throttlerName, error);
      return this.local.increment(key, ttl, limit, blockDuration, throttlerName);
    }
  }

  /** The shared storage's answer, or SharedStorageHung when it does not come in time (its late answer is dropped). */
  private withinDeadline<T>(answer: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SharedStorageHung(this.deadlineMs)), this.deadlineMs);
    });
    answer.catch(() => undefined);
    return Promise.race([answer, late]).finally(() => clearTimeout(timer));
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
