import Redis from 'ioredis';
import { SocketRegistryStore, UserSocket } from '../socket-registry.store';

// One hash per user: socket id → "<connected at>:<deadline>", both in Redis server milliseconds, so
// the replicas' clocks do not matter. The key itself expires with its last renewal.
const KEY = (userId: string) => `chatbox:user-sockets:${userId}`;

// Shared by the scripts: the live entries of KEYS[1] as { id, since }, oldest first; lapsed ones are deleted.
const LIVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local entries = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #entries, 2 do
  local since, deadline = string.match(entries[i + 1], '^(%d+):(%d+)$')
  if since and tonumber(deadline) > now then
    table.insert(live, { id = entries[i], since = tonumber(since) })
  else
    redis.call('HDEL', KEYS[1], entries[i])
  end
end
table.sort(live, function(a, b) return a.since < b.since end)
`;

// ARGV: socket id, limit, ttl ms. Returns the evicted ids.
const ADD = `${LIVE}
local ttl = tonumber(ARGV[3])
local others = {}
for _, entry in ipairs(live) do
  if entry.id ~= ARGV[1] then table.insert(others, entry) end
end
local evicted = {}
for i = 1, #others - (tonumber(ARGV[2]) - 1) do
  redis.call('HDEL', KEYS[1], others[i].id)
  table.insert(evicted, others[i].id)
end
-- Strictly after every other entry, even within one millisecond, so "oldest" is never a tie.
local since = now
for _, entry in ipairs(others) do
  if entry.since >= since then since = entry.since + 1 end
end
redis.call('HSET', KEYS[1], ARGV[1], since .. ':' .. (now + ttl))
redis.call('PEXPIRE', KEYS[1], ttl)
return evicted
`;

// ARGV: ttl ms, socket ids. Only entries still present are renewed.
const RENEW = `${LIVE}
local ttl = tonumber(ARGV[1])
local renewed = 0
for i = 2, #ARGV do
  local since = string.match(redis.call('HGET', KEYS[1], ARGV[i]) or '', '^(%d+):')
  if since then
    redis.call('HSET', KEYS[1], ARGV[i], since .. ':' .. (now + ttl))
    renewed = renewed + 1
  end
end
if renewed > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return renewed
`;

const LIST = `${LIVE}
local ids = {}
for _, entry in ipairs(live) do table.insert(ids, entry.id) end
return ids
`;

export class RedisSocketRegistryStore extends SocketRegistryStore {
  constructor(private readonly redis: Redis) {
    super();
  }

  async add({ userId, socketId }: UserSocket, limit: number, ttlMs: number): Promise<string[]> {
    return (await this.redis.eval(ADD, 1, KEY(userId), socketId, limit, ttlMs)) as string[];
  }

  async renew(sockets: UserSocket[], ttlMs: number): Promise<void> {
    const byUser = new Map<string, string[]>();
    for (const { userId, socketId } of sockets) byUser.set(userId, [...(byUser.get(userId) ?? []), socketId]);
    if (byUser.size === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [userId, ids] of byUser) pipeline.eval(RENEW, 1, KEY(userId), ttlMs, ...ids);
    const failed = (await pipeline.exec())?.find(([error]) => error)?.[0];
    if (failed) throw failed;
  }

  async remove({ userId, socketId }: UserSocket): Promise<void> {
    await this.redis.hdel(KEY(userId), socketId);
  }

  async list(userId: string): Promise<string[]> {
    return (await this.redis.eval(LIST, 1, KEY(userId))) as string[];
  }
}
