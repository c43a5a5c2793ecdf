import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { RedisThrottlerStorage } from '../../src/coordination/redis/redis-throttler.storage';
import { RedisServer, startRedisServer } from '../servers/redis-server';
import { required, TEST_ENV } from '../setup/test-env';
import { waitFor } from '../utils/wait-for';

describe(RedisThrottlerStorage.name, () => {
  const clients: Redis[] = [];
  let server: RedisServer | undefined;
  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    await server?.stop();
  });
  const connect = (url: string) => {
    const client = new Redis(url, { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  };
  const count = (sut: RedisThrottlerStorage, key: string) => sut.increment(key, 60000, 10, 60000, 'test');

  it('counts what comes before the first connection once it is made, as at boot', async () => {
    const client = connect(required(TEST_ENV.redisUrl));
    const sut = new RedisThrottlerStorage(client);
    expect(client.status).not.toBe('ready');

    expect(await count(sut, `k-${randomUUID()}`)).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('refuses at once once the connection is lost, and counts again once it is back', async () => {
    server = await startRedisServer();
    const client = connect(server.url);
    const sut = new RedisThrottlerStorage(client);
    const key = `k-${randomUUID()}`;
    expect(await count(sut, key)).toMatchObject({ totalHits: 1 });

    await server.stop();
    await waitFor(() => client.status !== 'ready', { what: 'the client to notice the server is gone' });

    // Not queued for a reconnection (which would fail it later with ioredis's own error).
    await expect(count(sut, key)).rejects.toThrow(/^Redis is \w+: nothing counted$/);
    server = await startRedisServer({ port: server.port });
    const counted = await waitFor(() => count(sut, key).catch(() => undefined), {
      what: 'the count to work again',
      timeoutMs: 20000,
    });
    // A new server, empty: the count starts again.
    expect(counted).toMatchObject({ totalHits: 1 });
  });
});
