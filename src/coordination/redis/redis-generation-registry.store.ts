import { OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { GenerationRegistryStore } from '../generation-registry.store';

const KEY = (sessionId: string) => `chatbox:turn:${sessionId}`;
const STOP_CHANNEL = 'chatbox:turn-stop';
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class RedisGenerationRegistryStore extends GenerationRegistryStore implements OnApplicationShutdown {
  private subscriber?: Redis;
  private readonly handlers: ((sessionId: string) => void)[] = [];

  constructor(private readonly redis: Redis) {
    super();
  }

  async claim(sessionId: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(KEY(sessionId), owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async renew(sessionId: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, KEY(sessionId), owner, ttlMs)) === 1;
  }

  async release(sessionId: string, owner: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, KEY(sessionId), owner);
  }

  async requestStop(sessionId: string): Promise<void> {
    await this.redis.publish(STOP_CHANNEL, sessionId);
  }

  onStop(handler: (sessionId: string) => void): void {
    this.handlers.push(handler);
    if (this.subscriber) return;
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (_channel: string, sessionId: string) => this.handlers.forEach((h) => h(sessionId)));
    void this.subscriber.subscribe(STOP_CHANNEL);
  }

  // Nest calls this on the factory-built instance too.
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  async close(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }
}
