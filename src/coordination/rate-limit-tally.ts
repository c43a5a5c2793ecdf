import { Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** What this replica's rate limits decided over a span of time. */
export interface RateLimitCounts {
  decisions: number;
  refused: number;
  /** Refusals by limit (`events`, `handshakes`, `public`). */
  refusedBy: Record<string, number>;
}

const BUCKET_MS = 1000;
/** The longest span a tally is asked about (RATE_LIMIT_ALERT_WINDOW_MS at most). */
const KEPT_MS = 3600000;

/**
 * Counts every rate-limit decision of this replica, in one-second buckets, so that an abnormal share of
 * refusals can be noticed. Memory is bounded: one bucket per second with traffic, none kept past an hour.
 */
@Injectable()
export class RateLimitTally {
  private readonly buckets: { at: number; decisions: number; refused: Map<string, number> }[] = [];
  private readonly listeners: ((limit: string) => void)[] = [];

  /** Called after each refusal is counted. */
  onRefusal(listener: (limit: string) => void): void {
    this.listeners.push(listener);
  }

  record(limit: string, refused: boolean, now = Date.now()): void {
    const at = now - (now % BUCKET_MS);
    let bucket = this.buckets[this.buckets.length - 1];
    if (!bucket || bucket.at !== at) {
      bucket = { at, decisions: 0, refused: new Map() };
      this.buckets.push(bucket);
      while (this.buckets.length > 0 && this.buckets[0].at <= now - KEPT_MS) this.buckets.shift();
    }
    bucket.decisions++;
    if (!refused) return;
    bucket.refused.set(limit, (bucket.refused.get(limit) ?? 0) + 1);
    // A listener's trouble must not change the decision being made.
    for (const listener of this.listeners) {
      try {
        listener(limit);
      } catch {
        continue;
      }
    }
  }

  /** The decisions of the last `windowMs`. */
  counts(windowMs: number, now = Date.now()): RateLimitCounts {
    const counts: RateLimitCounts = { decisions: 0, refused: 0, refusedBy: {} };
    // Newest first, so a short window reads only its own buckets.
    for (let i = this.buckets.length - 1; i >= 0 && this.buckets[i].at > now - windowMs; i--) {
      const bucket = this.buckets[i];
      counts.decisions += bucket.decisions;
      for (const [limit, n] of bucket.refused) {
        counts.refused += n;
        counts.refusedBy[limit] = (counts.refusedBy[limit] ?? 0) + n;
      }
    }
    return counts;
  }
}

/** A throttler storage that tells the tally what each decision was; the storage it wraps decides. */
export class TalliedThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  constructor(
    private readonly storage: ThrottlerStorage & Partial<OnApplicationShutdown>,
    private readonly tally: RateLimitTally,
  ) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const record = await this.storage.increment(key, ttl, limit, blockDuration, throttlerName);
    this.tally.record(throttlerName, record.isBlocked);
    return record;
  }

  onApplicationShutdown(signal?: string): unknown {
    return this.storage.onApplicationShutdown?.(signal);
  }
}

/** The one tally of the process, shared by the throttler storage and whoever watches the share of refusals. */
@Module({ providers: [RateLimitTally], exports: [RateLimitTally] })
export class RateLimitTallyModule {}
