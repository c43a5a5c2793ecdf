import Redis from 'ioredis';
import { GenerationRegistryStore } from '../../src/coordination/generation-registry.store';
import { MemoryGenerationRegistryStore } from '../../src/coordination/memory/memory-generation-registry.store';
import { RedisGenerationRegistryStore } from '../../src/coordination/redis/redis-generation-registry.store';
import { required, TEST_ENV } from '../setup/test-env';
import { waitFor } from '../utils/wait-for';

const clients: Redis[] = [];
const stores: RedisGenerationRegistryStore[] = [];
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all(clients.map((c) => c.quit()));
});

const redisStore = () => {
  const client = new Redis(required(TEST_ENV.redisUrl));
  clients.push(client);
  const store = new RedisGenerationRegistryStore(client);
  stores.push(store);
  return store;
};

// The same contract for both implementations; for Redis, two stores stand for two replicas.
describe.each([
  ['memory', () => new MemoryGenerationRegistryStore(), (s: GenerationRegistryStore) => s],
  ['redis', redisStore, () => redisStore()],
] as const)('%s generation registry', (_name, create, peerOf) => {
  const session = () => `s-${Math.random().toString(36).slice(2)}`;

  it('lets exactly one owner claim a session, and only that owner renew or release it', async () => {
    const store = create();
    const peer = peerOf(store);
    const id = session();
    expect(await store.claim(id, 'a', 10000)).toBe(true);
    expect(await peer.claim(id, 'b', 10000)).toBe(false);
    expect(await peer.renew(id, 'b', 10000)).toBe(false);
    await peer.release(id, 'b');
    expect(await peer.claim(id, 'b', 10000)).toBe(false);
    expect(await store.renew(id, 'a', 10000)).toBe(true);
    await store.release(id, 'a');
    expect(await peer.claim(id, 'b', 10000)).toBe(true);
  });

  it('frees a claim its owner stopped renewing once the TTL passes', async () => {
    const store = create();
    const id = session();
    expect(await store.claim(id, 'dead-replica', 100)).toBe(true);
    await waitFor(async () => store.claim(id, 'survivor', 10000), { timeoutMs: 3000, what: 'the claim to expire' });
  });

  it('delivers a stop request to every replica listening', async () => {
    const store = create();
    const peer = peerOf(store);
    const seen: string[] = [];
    peer.onStop((id) => seen.push(id));
    const id = session();
    // A subscription takes effect asynchronously: ask until it is heard.
    await waitFor(
      async () => {
        await store.requestStop(id);
        return seen.includes(id);
      },
      { what: 'the stop request to arrive' },
    );
  });
});
