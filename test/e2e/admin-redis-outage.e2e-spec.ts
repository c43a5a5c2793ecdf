import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { RedisConnection } from '../../src/redis/redis-connection';
import { RedisServer, startRedisServer } from '../servers/redis-server';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

describe('the admin REST routes while Redis is down', () => {
  let redis: RedisServer;
  let t: TestApp;

  beforeAll(async () => {
    redis = await startRedisServer();
    t = await startTestApp({ REDIS_URL: redis.url, ADMIN_RATE_LIMIT_PER_MINUTE: '3', DEMO_DELTA_INTERVAL_MS: '0' });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  const uncounted = async () => {
    const text = await (
      await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${t.env.METRICS_TOKEN}` } })
    ).text();
    return Number(/^chatbox_rate_limit_uncounted_total\{limit="admin"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  };
  const outageLogs = () =>
    t.logs.lines.filter((l) => l.msg === 'could not count an admin request; letting it through (logged once a minute)');

  it('answers reads uncounted (logged once, counted in a metric), and limits again once Redis is back', async () => {
    const auth = { authorization: `Bearer ${await signToken(t.env.JWT_SECRET, { sub: 'ann', roles: ['admin'] })}` };
    const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
    const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
    client.close();
    const reads = [
      '/admin/sessions?withTotal=true',
      `/admin/sessions/${sessionId}`,
      '/admin/audit',
      `/admin/users/u-1/sessions`,
    ];
    const get = (path: string) => fetch(`${t.baseUrl}/chatbox${path}`, { headers: auth });
    expect((await get(reads[0])).status).toBe(200);
    expect(await uncounted()).toBe(0);

    await redis.stop();
    const connection = t.app.get(RedisConnection).client as Redis;
    await waitFor(() => connection.status !== 'ready', { what: 'the app to notice Redis is gone' });
    const statuses: number[] = [];
    const started = Date.now();
    // Twice the budget: every request goes through, none counted, none waiting for Redis to come back.
    for (const path of [...reads, ...reads]) statuses.push((await get(path)).status);
    const elapsedMs = Date.now() - started;

    expect(statuses).toEqual(Array(8).fill(200));
    // Waiting on ioredis's reconnection would take seconds per request (up to 10).
    expect(elapsedMs).toBeLessThan(4000);
    expect(await uncounted()).toBe(8);
    expect(outageLogs()).toHaveLength(1);
    expect(outageLogs()[0].level).toBe(40);
    expect((outageLogs()[0].err as { message: string }).message).toMatch(/^Redis is \w+: nothing counted$/);

    redis = await startRedisServer({ port: redis.port });
    await waitFor(async () => (await get(reads[0])).status === 429, {
      what: 'the admin limit to count in Redis again',
    });
    expect(outageLogs()).toHaveLength(1);
  });
});
