import { OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { StopSignal, TurnSignalStore } from '../turn-signal.store';

const STOP_CHANNEL = 'chatbox:turn-stop';

export class RedisTurnSignalStore extends TurnSignalStore implements OnApplicationShutdown {
  private subscriber?: Redis;
  private subscribed?: Promise<unknown>;
  private readonly handlers: ((signal: StopSignal) => void)[] = [];

  constructor(private readonly redis: Redis) {
    super();
  }

  async publishStop(signal: StopSignal): Promise<void> {
    await this.redis.publish(STOP_CHANNEL, JSON.stringify(signal));
  }

  async onStop(handler: (signal: StopSignal) => void): Promise<void> {
    this.handlers.push(handler);
    if (!this.subscriber) {
      this.subscriber = this.redis.duplicate();
      this.subscriber.on('error', () => undefined);
      this.subscriber.on('message', (_channel: string, message: string) => {
        const signal = parse(message);
        if (signal) this.handlers.forEach((h) => h(signal));
      });
      this.subscribed = this.subscriber.subscribe(STOP_CHANNEL);
    }
    await this.subscribed;
  }

  // Nest calls this on the factory-built instance too.
  async onApplicationShutdown(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }
}

function parse(message: string): StopSignal | undefined {
  try {
    const value = JSON.parse(message) as Partial<StopSignal>;
    return typeof value.turnId === 'string' && typeof value.reason === 'string' ? (value as StopSignal) : undefined;
  } catch {
    return undefined;
  }
}
