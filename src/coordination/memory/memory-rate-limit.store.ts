import { RateLimitResult, RateLimitStore } from '../rate-limit.store';

export class MemoryRateLimitStore extends RateLimitStore {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
    const now = Date.now();
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      // Expired windows are dropped as keys are hit again, and all of them when the map grows large.
      if (this.windows.size > 100000) this.windows.clear();
      window = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.count += 1;
    const allowed = window.count <= limit;
    return Promise.resolve({ allowed, retryAfterMs: allowed ? 0 : window.resetAt - now });
  }
}
