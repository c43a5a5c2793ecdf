import Redis from 'ioredis';
import { RateLimitResult, RateLimitStore } from '../rate-limit.store';

// One round trip: count the hit, start the window on the first one, report the time left.
const HIT = `local n = redis.call('incr', KEYS[1])
if n == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end
return {n, redis.call('pttl', KEYS[1])}`;

export class RedisRateLimitStore extends RateLimitStore {
  constructor(private readonly redis: Redis) {
    super();
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
    const [count, ttl] = (await this.redis.eval(HIT, 1, `chatbox:rate:${key}`, windowMs)) as [number, number];
    const allowed = count <= limit;
    return { allowed, retryAfterMs: allowed ? 0 : Math.max(ttl, 1) };
  }
}
