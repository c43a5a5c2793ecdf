import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { MemorySocketRegistryStore } from '../../src/coordination/memory/memory-socket-registry.store';
import { RedisSocketRegistryStore } from '../../src/coordination/redis/redis-socket-registry.store';
import { SocketRegistryStore } from '../../src/coordination/socket-registry.store';
import { required, TEST_ENV } from '../setup/test-env';
import { waitFor } from '../utils/wait-for';

const clients: Redis[] = [];
afterAll(() => Promise.all(clients.map((c) => c.quit())));

const redisStore = () => {
  const client = new Redis(required(TEST_ENV.redisUrl));
  clients.push(client);
  return new RedisSocketRegistryStore(client);
};

const LONG = 60000;

// The same contract for both implementations; for Redis, two stores stand for two replicas.
describe.each([
  ['memory', () => new MemorySocketRegistryStore(), (s: SocketRegistryStore) => s],
  ['redis', redisStore, () => redisStore()],
] as const)('%s socket registry', (_name, create, peerOf) => {
  const user = () => `u-${randomUUID()}`;

  it("keeps a user's sockets oldest first and evicts the oldest beyond the limit, whichever replica holds them", async () => {
    const store = create();
    const peer = peerOf(store);
    const userId = user();
    expect(await store.add({ userId, socketId: 's1' }, 3, LONG)).toEqual([]);
    expect(await peer.add({ userId, socketId: 's2' }, 3, LONG)).toEqual([]);
    expect(await store.add({ userId, socketId: 's3' }, 3, LONG)).toEqual([]);
    expect(await peer.add({ userId, socketId: 's4' }, 3, LONG)).toEqual(['s1']);
    expect(await store.list(userId)).toEqual(['s2', 's3', 's4']);
    expect(await store.add({ userId, socketId: 's5' }, 1, LONG)).toEqual(['s2', 's3', 's4']);
    expect(await peer.list(userId)).toEqual(['s5']);
    expect(await store.list(user())).toEqual([]);
  });

  it('admits at most the limit when many sockets of one user connect at once', async () => {
    const store = create();
    const userId = user();
    const ids = Array.from({ length: 20 }, (_, i) => `s${i}`);
    const evicted = (await Promise.all(ids.map((socketId) => peerOf(store).add({ userId, socketId }, 5, LONG)))).flat();
    const listed = await store.list(userId);
    expect(listed).toHaveLength(5);
    expect(new Set([...evicted, ...listed])).toEqual(new Set(ids));
  });

  it('forgets a removed socket, and does not bring it back on renewal', async () => {
    const store = create();
    const userId = user();
    await store.add({ userId, socketId: 'a' }, 10, LONG);
    await store.add({ userId, socketId: 'b' }, 10, LONG);
    await store.remove({ userId, socketId: 'a' });
    await store.renew(
      [
        { userId, socketId: 'a' },
        { userId, socketId: 'b' },
      ],
      LONG,
    );
    expect(await store.list(userId)).toEqual(['b']);
  });

  it('lets the entries of a replica that stopped renewing lapse, while renewed ones live on', async () => {
    const store = create();
    const userId = user();
    // The survivor registers first, so its first deadline passes before the dead replica's does.
    await store.add({ userId, socketId: 'survivor' }, 10, 300);
    await peerOf(store).add({ userId, socketId: 'killed' }, 10, 300);
    await waitFor(
      async () => {
        await store.renew([{ userId, socketId: 'survivor' }], 300);
        const listed = await store.list(userId);
        return listed.length === 1 && listed;
      },
      { timeoutMs: 5000, intervalMs: 50, what: 'the unrenewed entry to lapse' },
    );
    expect(await store.list(userId)).toEqual(['survivor']);
  });
});
