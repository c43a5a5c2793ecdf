import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { LeadershipStore } from '../../src/coordination/leadership.store';
import { MemoryLeadershipStore } from '../../src/coordination/memory/memory-leadership.store';
import { MemoryTurnBufferStore } from '../../src/coordination/memory/memory-turn-buffer.store';
import { MemoryTurnSignalStore } from '../../src/coordination/memory/memory-turn-signal.store';
import { RedisLeadershipStore } from '../../src/coordination/redis/redis-leadership.store';
import { RedisTurnBufferStore } from '../../src/coordination/redis/redis-turn-buffer.store';
import { RedisTurnSignalStore } from '../../src/coordination/redis/redis-turn-signal.store';
import { FinishedReply, TurnBufferStore } from '../../src/coordination/turn-buffer.store';
import { StopSignal, TurnSignalStore } from '../../src/coordination/turn-signal.store';
import { required, TEST_ENV } from '../setup/test-env';
import { waitFor } from '../utils/wait-for';

const clients: Redis[] = [];
const signalStores: RedisTurnSignalStore[] = [];
afterAll(async () => {
  await Promise.all(signalStores.map((s) => s.onApplicationShutdown()));
  await Promise.all(clients.map((c) => c.quit()));
});
const redis = () => {
  const client = new Redis(required(TEST_ENV.redisUrl));
  clients.push(client);
  return client;
};

const finished: FinishedReply = {
  content: 'Hello there',
  status: 'complete',
  finishReason: 'stop',
  model: 'demo',
  latency: { totalMs: 12 },
};

describe.each([
  ['memory', () => new MemoryTurnBufferStore()],
  ['redis', () => new RedisTurnBufferStore(redis())],
] as const)('%s turn buffer', (_name, create) => {
  it('keeps the frames of a reply in order with the index of the last one, then its finished form', async () => {
    const sut: TurnBufferStore = create();
    const turn = randomUUID();
    expect(await sut.read(turn)).toBeUndefined();
    await sut.open(turn);
    expect(await sut.read(turn)).toEqual({ streamed: { index: -1, text: '' } });
    expect(await sut.append(turn, 0, 'Hello ')).toBe(true);
    expect(await sut.append(turn, 1, 'there')).toBe(true);
    expect(await sut.read(turn)).toEqual({ streamed: { index: 1, text: 'Hello there' } });
    await sut.finish(turn, finished);
    expect(await sut.read(turn)).toEqual({ streamed: { index: 1, text: 'Hello there' }, finished });
    await sut.discard(turn);
    expect(await sut.read(turn)).toBeUndefined();
  });

  it('keeps nothing of a reply it does not hold (a store that lost it), and tells the writer', async () => {
    const sut: TurnBufferStore = create();
    const lost = randomUUID();
    expect(await sut.append(lost, 3, 'late')).toBe(false);
    expect(await sut.read(lost)).toBeUndefined();
    await sut.finish(lost, finished);
    expect(await sut.read(lost)).toEqual({ finished });
  });
});

describe.each([
  ['memory', () => new MemoryTurnSignalStore(), (s: TurnSignalStore) => s],
  [
    'redis',
    () => {
      const store = new RedisTurnSignalStore(redis());
      signalStores.push(store);
      return store;
    },
    () => {
      const store = new RedisTurnSignalStore(redis());
      signalStores.push(store);
      return store;
    },
  ],
] as const)('%s turn signals', (_name, create, peerOf) => {
  it('delivers a stop published after a listener subscribed, on another replica, the first time', async () => {
    const sut = create();
    const peer = peerOf(sut);
    const heard: StopSignal[] = [];
    await peer.onStop((signal) => heard.push(signal));
    const signal = { turnId: randomUUID(), reason: 'stopped' };
    await sut.publishStop(signal);
    await waitFor(() => heard.some((s) => s.turnId === signal.turnId), { what: 'the stop to arrive' });
    expect(heard.filter((s) => s.turnId === signal.turnId)).toEqual([signal]);
  });
});

describe('leadership', () => {
  it('in memory: the single instance leads', async () => {
    const sut: LeadershipStore = new MemoryLeadershipStore();
    expect(await sut.hold('gauge', 'a', 10000)).toBe(true);
    expect(await sut.hold('gauge', 'b', 10000)).toBe(true);
  });

  it('in Redis: one holder at a time, renewed by it, passed on when released or expired', async () => {
    const sut: LeadershipStore = new RedisLeadershipStore(redis());
    const role = `role-${randomUUID()}`;
    expect(await sut.hold(role, 'a', 10000)).toBe(true);
    expect(await sut.hold(role, 'a', 10000)).toBe(true);
    expect(await sut.hold(role, 'b', 10000)).toBe(false);
    await sut.release(role, 'b');
    expect(await sut.hold(role, 'b', 10000)).toBe(false);
    await sut.release(role, 'a');
    expect(await sut.hold(role, 'b', 100)).toBe(true);
    await waitFor(() => sut.hold(role, 'c', 10000), { timeoutMs: 3000, what: "b's role to expire" });
  });
});
