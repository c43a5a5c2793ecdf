import Redis from 'ioredis';
import { LeadershipStore } from '../leadership.store';

const KEY = (role: string) => `chatbox:leader:${role}`;
const HOLD = `
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
return 0`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class RedisLeadershipStore extends LeadershipStore {
  constructor(private readonly redis: Redis) {
    super();
  }

  async hold(role: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(HOLD, 1, KEY(role), holder, ttlMs)) === 1;
  }

  async release(role: string, holder: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, KEY(role), holder);
  }
}
