import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { io } from 'socket.io-client';
import { RedisSocketRegistryStore } from '../../src/coordination/redis/redis-socket-registry.store';
import { SocketRegistryStore } from '../../src/coordination/socket-registry.store';
import { required, TEST_ENV } from '../setup/test-env';
import { ChatboxProcess } from '../utils/chatbox-process';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp, testEnv, testMongoUri } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

const clients: ChatClient[] = [];
afterEach(() => clients.splice(0).forEach((c) => c.close()));

/**
 * Connects a device and waits until it counts for its user, so connection order is certain: on one
 * replica without Redis, its `models` event comes after the server registered it; through Redis, the
 * registry is asked.
 */
async function device(baseUrl: string, token: string, registry?: { store: SocketRegistryStore; userId: string }) {
  const client = await ChatClient.connect(baseUrl, token);
  clients.push(client);
  await client.waitForEvent('models');
  if (registry) {
    await waitFor(async () => (await registry.store.list(registry.userId)).includes(client.socket.id ?? ''), {
      what: 'the socket to be registered',
    });
  }
  return client;
}

const closedWithReason = (client: ChatClient) =>
  new Promise<string>((resolve) =>
    client.socket.connected ? client.socket.once('disconnect', resolve) : resolve('io server disconnect'),
  );

describe('sockets per user', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it("tells and closes a user's oldest socket when the 11th connects, and keeps the other ten", async () => {
    const userId = `u-${randomUUID()}`;
    const token = await signToken(t.env.JWT_SECRET, { sub: userId });
    const devices: ChatClient[] = [];
    for (let i = 0; i < 10; i++) devices.push(await device(t.baseUrl, token));
    const oldest = devices[0];
    const closed = closedWithReason(oldest);

    const eleventh = await device(t.baseUrl, token);
    expect(await oldest.waitForEvent('error')).toEqual({
      code: 'connection_replaced',
      message: expect.stringContaining('more than 10 connections') as string,
      recoverable: false,
    });
    expect(await closed).toBe('io server disconnect');
    const rest = [...devices.slice(1), eleventh];
    for (const client of rest) await client.ok('session:start', {});
    expect(rest.every((c) => c.socket.connected && c.named('error').length === 0)).toBe(true);
  });

  it('counts each user on their own', async () => {
    const users = [`u-${randomUUID()}`, `u-${randomUUID()}`];
    const all: ChatClient[] = [];
    for (const userId of users) {
      const token = await signToken(t.env.JWT_SECRET, { sub: userId });
      for (let i = 0; i < 10; i++) all.push(await device(t.baseUrl, token));
    }
    for (const client of all) await client.ok('session:start', {});
    expect(all.every((c) => c.socket.connected && c.named('error').length === 0)).toBe(true);
  });
});

describe('sockets per user across replicas', () => {
  const redisUrl = required(TEST_ENV.redisUrl);
  let redis: Redis;
  let registry: RedisSocketRegistryStore;
  const apps: TestApp[] = [];
  beforeAll(() => {
    redis = new Redis(redisUrl);
    registry = new RedisSocketRegistryStore(redis);
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await redis.quit();
  });

  it('closes the oldest socket on another replica', async () => {
    const shared = { REDIS_URL: redisUrl, MONGODB_URI: testMongoUri(), SOCKETS_PER_USER: '2' };
    const one = await startTestApp(shared);
    apps.push(one);
    const two = await startTestApp({
      ...shared,
      JWT_SECRET: one.env.JWT_SECRET,
      ENCRYPTION_KEY: one.env.ENCRYPTION_KEY,
    });
    apps.push(two);
    const userId = `u-${randomUUID()}`;
    const token = await signToken(one.env.JWT_SECRET, { sub: userId });

    const onTwo = await device(two.baseUrl, token, { store: registry, userId });
    const closed = closedWithReason(onTwo);
    const first = await device(one.baseUrl, token, { store: registry, userId });
    const second = await device(one.baseUrl, token, { store: registry, userId });
    expect(await onTwo.waitForEvent('error')).toMatchObject({ code: 'connection_replaced' });
    expect(await closed).toBe('io server disconnect');
    expect(await registry.list(userId)).toEqual([first.socket.id, second.socket.id]);
  });

  it("never lets a killed replica's sockets cost a live device its connection", async () => {
    const env = testEnv({ REDIS_URL: redisUrl, SOCKETS_PER_USER: '2' });
    const killed = new ChatboxProcess(env);
    const userId = `u-${randomUUID()}`;
    const token = await signToken(env.JWT_SECRET, { sub: userId });
    try {
      const baseUrl = await killed.listening();
      const zombies = [
        await device(baseUrl, token, { store: registry, userId }),
        await device(baseUrl, token, { store: registry, userId }),
      ].map((z) => z.socket.id);
      killed.signal('SIGKILL');
      await killed.exited;
      // The killed replica never unregistered its sockets.
      expect(await registry.list(userId)).toEqual(zombies);
    } finally {
      await killed.stop();
    }

    const survivor = await startTestApp(env);
    apps.push(survivor);
    const live = [
      await device(survivor.baseUrl, token, { store: registry, userId }),
      await device(survivor.baseUrl, token, { store: registry, userId }),
    ];
    for (const client of live) await client.ok('session:start', {});
    expect(live.every((c) => c.socket.connected && c.named('error').length === 0)).toBe(true);
    expect(await registry.list(userId)).toEqual(live.map((c) => c.socket.id));
  });
});

describe('connection attempts per client address, before authentication', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ HANDSHAKE_RATE_LIMIT_PER_MINUTE: '3', TRUSTED_PROXIES: '127.0.0.1' });
  });
  afterAll(() => t.close());

  const polling = (query: string, address: string, init: RequestInit = {}) =>
    fetch(`${t.baseUrl}/chatbox/socket.io/?EIO=4&transport=polling${query}`, {
      ...init,
      headers: { 'x-forwarded-for': address, ...(init.headers as Record<string, string>) },
    });

  it('refuses transport handshakes past the limit from one address, whatever the token, and not others', async () => {
    const address = '203.0.113.7';
    const attempt = async (from: string, token: string) => {
      const client = new ChatClient(t.baseUrl, { token }, { headers: { 'x-forwarded-for': from } });
      clients.push(client);
      return (await client.refused().catch(() => ({ data: { code: 'connected' } }))).data?.code ?? 'refused';
    };
    for (let i = 0; i < 3; i++) expect(await attempt(address, 'not-a-token')).toBe('unauthorized');
    expect(await attempt(address, await signToken(t.env.JWT_SECRET))).toBe('refused');
    const handshake = await polling('', address);
    expect({ status: handshake.status, body: await handshake.json() }).toEqual({
      status: 403,
      body: { code: 4, message: 'rate_limited' },
    });
    expect(await attempt('203.0.113.8', await signToken(t.env.JWT_SECRET))).toBe('connected');
  });

  it('refuses namespace connects past the limit on one transport connection', async () => {
    const address = '203.0.113.9';
    const handshake = await polling('', address);
    const { sid } = JSON.parse((await handshake.text()).slice(1)) as { sid: string };
    const connect = '40/chat,{"token":"not-a-token"}';
    await polling(`&sid=${sid}`, address, {
      method: 'POST',
      body: Array(5).fill(connect).join('\x1e'),
      headers: { 'content-type': 'text/plain' },
    });
    const answers: { code: string; retryAfterMs?: number }[] = [];
    await waitFor(
      async () => {
        const body = await (await polling(`&sid=${sid}`, address)).text();
        for (const packet of body.split('\x1e').filter((p) => p.startsWith('44/chat,'))) {
          answers.push((JSON.parse(packet.slice('44/chat,'.length)) as { data: { code: string } }).data);
        }
        return answers.length === 5;
      },
      { what: 'an answer to every connect' },
    );
    expect(answers.map((a) => a.code).sort()).toEqual([
      'rate_limited',
      'rate_limited',
      'unauthorized',
      'unauthorized',
      'unauthorized',
    ]);
    expect(answers.find((a) => a.code === 'rate_limited')?.retryAfterMs).toBeGreaterThan(0);
  });

  it('counts by socket peer when the peer is no trusted proxy, ignoring X-Forwarded-For', async () => {
    const strict = await startTestApp({ HANDSHAKE_RATE_LIMIT_PER_MINUTE: '2' });
    try {
      const statuses: number[] = [];
      for (const address of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
        const res = await fetch(`${strict.baseUrl}/chatbox/socket.io/?EIO=4&transport=polling`, {
          headers: { 'x-forwarded-for': address },
        });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([200, 200, 403]);
    } finally {
      await strict.close();
    }
  });
});

describe('the root namespace', () => {
  it('refuses connections, with or without a token', async () => {
    const t = await startTestApp();
    try {
      for (const auth of [undefined, { token: await signToken(t.env.JWT_SECRET) }]) {
        const socket = io(t.baseUrl, { path: '/chatbox/socket.io', auth, forceNew: true, reconnection: false });
        const error = await new Promise<Error & { data?: { code: string } }>((resolve, reject) => {
          socket.once('connect', () => reject(new Error('the root namespace accepted a socket')));
          socket.once('connect_error', resolve);
        }).finally(() => socket.close());
        expect(error.data?.code).toBe('not_found');
      }
    } finally {
      await t.close();
    }
  });
});
