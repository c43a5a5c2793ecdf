import Redis from 'ioredis';
import { FinishedReply, TurnBufferStore, TurnSnapshot } from '../turn-buffer.store';

// `i`: index of the last frame kept; `f`: the finished reply. The text so far is a string of its own (APPEND).
const META = (turnId: string) => `chatbox:turn:${turnId}:meta`;
const TEXT = (turnId: string) => `chatbox:turn:${turnId}:text`;
// Long enough for a reply the database refused to wait for the next attempt; deleted once stored.
const TTL_MS = 6 * 3600 * 1000;
// A frame is kept only right after its predecessor, so a restarted Redis never serves text with a hole.
const APPEND = `
if redis.call('hget', KEYS[1], 'i') ~= ARGV[1] then return 0 end
redis.call('hset', KEYS[1], 'i', ARGV[2])
redis.call('append', KEYS[2], ARGV[3])
redis.call('pexpire', KEYS[1], ARGV[4])
redis.call('pexpire', KEYS[2], ARGV[4])
return 1`;

type AppendCommand = (
  meta: string,
  text: string,
  previous: number,
  index: number,
  chunk: string,
  ttlMs: number,
) => Promise<number>;

export class RedisTurnBufferStore extends TurnBufferStore {
  private readonly appendFrame: AppendCommand;

  constructor(private readonly redis: Redis) {
    super();
    // Sent by its SHA after the first call (EVALSHA), not as a script with every frame.
    redis.defineCommand('chatboxTurnAppend', { numberOfKeys: 2, lua: APPEND });
    const commands = redis as unknown as { chatboxTurnAppend: AppendCommand };
    this.appendFrame = (...args) => commands.chatboxTurnAppend(...args);
  }

  async open(turnId: string): Promise<void> {
    await this.redis.multi().hset(META(turnId), 'i', -1).pexpire(META(turnId), TTL_MS).exec();
  }

  async append(turnId: string, index: number, text: string): Promise<boolean> {
    return (await this.appendFrame(META(turnId), TEXT(turnId), index - 1, index, text, TTL_MS)) === 1;
  }

  async finish(turnId: string, reply: FinishedReply): Promise<void> {
    await this.redis.multi().hset(META(turnId), 'f', JSON.stringify(reply)).pexpire(META(turnId), TTL_MS).exec();
  }

  async read(turnId: string): Promise<TurnSnapshot | undefined> {
    const [[, meta], [, text]] = (await this.redis.multi().hmget(META(turnId), 'i', 'f').get(TEXT(turnId)).exec()) as [
      [null, [string | null, string | null]],
      [null, string | null],
    ];
    const [index, finished] = meta;
    if (index === null && finished === null) return undefined;
    return {
      streamed: index === null ? undefined : { index: Number(index), text: text ?? '' },
      finished: finished === null ? undefined : (JSON.parse(finished) as FinishedReply),
    };
  }

  async discard(turnId: string): Promise<void> {
    await this.redis.del(META(turnId), TEXT(turnId));
  }
}
