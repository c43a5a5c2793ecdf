export interface RateLimitResult {
  allowed: boolean;
  retryAfterMs: number;
}

/** Fixed-window counters shared by every replica (Redis) or kept in process (single instance). */
export abstract class RateLimitStore {
  abstract hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult>;
}
