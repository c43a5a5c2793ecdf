import Redis from 'ioredis';
import { FinishedReply, TurnBufferStore, TurnSnapshot } from '../turn-buffer.store';

// The frames of a reply, after a header element pushed when it opens: frame i is element i + 1. The
// finished reply is a hash field beside it.
const FRAMES = (turnId: string) => `chatbox:turn:${turnId}:frames`;
const META = (turnId: string) => `chatbox:turn:${turnId}:meta`;
// Long enough for a reply the database refused to wait for the next attempt; deleted once stored.
const TTL_MS = 6 * 3600 * 1000;

export class RedisTurnBufferStore extends TurnBufferStore {
  constructor(private readonly redis: Redis) {
    super();
  }

  async open(turnId: string): Promise<void> {
    await this.redis.multi().del(FRAMES(turnId)).rpush(FRAMES(turnId), '').pexpire(FRAMES(turnId), TTL_MS).exec();
  }

  /**
   * One RPUSHX a frame: it only appends to a list that exists, so a Redis that restarted (and lost the
   * list) keeps nothing, and the length it answers shows a missing frame.
   */
  async append(turnId: string, index: number, text: string): Promise<boolean> {
    return (await this.redis.rpushx(FRAMES(turnId), text)) === index + 2;
  }

  async finish(turnId: string, reply: FinishedReply): Promise<void> {
    await this.redis.multi().hset(META(turnId), 'f', JSON.stringify(reply)).pexpire(META(turnId), TTL_MS).exec();
  }

  async read(turnId: string): Promise<TurnSnapshot | undefined> {
    const [[, frames], [, finished]] = (await this.redis
      .multi()
      .lrange(FRAMES(turnId), 0, -1)
      .hget(META(turnId), 'f')
      .exec()) as [[null, string[]], [null, string | null]];
    if (frames.length === 0 && finished === null) return undefined;
    return {
      streamed: frames.length === 0 ? undefined : { index: frames.length - 2, text: frames.slice(1).join('') },
      finished: finished === null ? undefined : (JSON.parse(finished) as FinishedReply),
    };
  }

  async discard(turnId: string): Promise<void> {
    await this.redis.del(FRAMES(turnId), META(turnId));
  }
}
