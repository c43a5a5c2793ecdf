import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { RedisConnection } from '../../src/redis/redis-connection';
import { RedisServer, startRedisServer } from '../servers/redis-server';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

/**
 * Rate limits count in Redis. While it is down, every limit counts on the replica alone (logged once a minute
 * per limit, counted in a metric) instead of failing every request, and counts in Redis again once it is back.
 */
describe('the rate limits while Redis is down', () => {
  let redis: RedisServer;
  let t: TestApp;
  let redisDown = false;

  beforeAll(async () => {
    redis = await startRedisServer();
    t = await startTestApp({
      REDIS_URL: redis.url,
      ADMIN_RATE_LIMIT_PER_MINUTE: '3',
      PUBLIC_RATE_LIMIT_PER_MINUTE: '3',
      RATE_LIMIT_EVENTS: '3',
      DEMO_DELTA_INTERVAL_MS: '0',
    });
  });
  afterAll(async () => {
    // A test that failed with Redis down must not leave the app's shutdown waiting for it.
    if (redisDown) await redisBack();
    await t?.close();
    await redis?.stop();
  });

  const uncounted = async (limit: string) => {
    const text = await (
      await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${t.env.METRICS_TOKEN}` } })
    ).text();
    return Number(
      new RegExp(`^chatbox_rate_limit_uncounted_total\\{limit="${limit}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0,
    );
  };
  const outageLogs = (limit: string) =>
    t.logs.lines.filter(
      (l) =>
        l.msg ===
        `could not count a request against the ${limit} limit in Redis; counting it on this replica alone (logged once a minute)`,
    );
  const redisGone = async () => {
    await redis.stop();
    redisDown = true;
    const connection = t.app.get(RedisConnection).client as Redis;
    await waitFor(() => connection.status !== 'ready', { what: 'the app to notice Redis is gone' });
  };
  /** Redis restarted, and the app connected to it again: counts go to Redis from here. */
  const redisBack = async () => {
    redis = await startRedisServer({ port: redis.port });
    redisDown = false;
    const connection = t.app.get(RedisConnection).client as Redis;
    await waitFor(() => connection.status === 'ready', { what: 'the app to reconnect to Redis' });
  };

  it('limits admin reads on the replica alone, without waiting for Redis, and in Redis again once it is back', async () => {
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
    expect(await uncounted('admin')).toBe(0);

    await redisGone();
    const statuses: number[] = [];
    const started = Date.now();
    // Past the budget of 3: the replica's own count refuses the rest; none waits for Redis to come back.
    for (const path of [...reads, ...reads]) statuses.push((await get(path)).status);
    const elapsedMs = Date.now() - started;

    expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429]);
    // Waiting on ioredis's reconnection would take seconds per request (up to 10).
    expect(elapsedMs).toBeLessThan(4000);
    expect(await uncounted('admin')).toBe(8);
    expect(outageLogs('admin')).toHaveLength(1);
    expect(outageLogs('admin')[0].level).toBe(40);
    expect((outageLogs('admin')[0].err as { message: string }).message).toMatch(/^Redis is \w+: nothing counted$/);

    // Counted in Redis again (restarted empty): the budget, then refused, and nothing counted locally.
    await redisBack();
    const after: number[] = [];
    for (let i = 0; i < 4; i++) after.push((await get(reads[0])).status);
    expect(after).toEqual([200, 200, 200, 429]);
    expect(await uncounted('admin')).toBe(8);
    expect(outageLogs('admin')).toHaveLength(1);
  });

  it("limits a connected user's socket events and the public shared view on the replica alone, then in Redis again", async () => {
    const token = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` });
    const client = await ChatClient.connect(t.baseUrl, token);
    const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
    const share = await fetch(`${t.baseUrl}/chatbox/sessions/${sessionId}/shares`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const { token: shareToken } = (await share.json()) as { token: string };
    const view = () => fetch(`${t.baseUrl}/chatbox/shared/${shareToken}`);
    expect((await view()).status).toBe(200);

    await redisGone();
    // Past each budget of 3: the replica's own count refuses the rest, and nothing fails.
    const acks = [];
    for (let i = 0; i < 5; i++) acks.push(await client.call('session:resume', { sessionId }));
    const views: number[] = [];
    for (let i = 0; i < 5; i++) views.push((await view()).status);

    // A device connecting meanwhile is let in too.
    const second = await ChatClient.connect(t.baseUrl, token);
    acks.push(await second.call('session:resume', { sessionId }));
    second.close();

    expect(acks.map((ack) => (ack.ok ? 'ok' : ack.error.code))).toEqual([
      'ok',
      'ok',
      'ok',
      'rate_limited',
      'rate_limited',
      'rate_limited',
    ]);
    expect(views).toEqual([200, 200, 200, 429, 429]);
    expect(await uncounted('events')).toBe(6);
    expect(await uncounted('handshakes')).toBe(2);
    expect(await uncounted('public')).toBe(5);
    expect(outageLogs('events')).toHaveLength(1);
    expect(outageLogs('public')).toHaveLength(1);

    // Counted in Redis again: the budget, then refused, and nothing more counted locally.
    await redisBack();
    const viewsAfter: number[] = [];
    for (let i = 0; i < 4; i++) viewsAfter.push((await view()).status);
    const acksAfter = [];
    for (let i = 0; i < 4; i++) acksAfter.push(await client.call('session:resume', { sessionId }));
    expect(viewsAfter).toEqual([200, 200, 200, 429]);
    expect(acksAfter.map((ack) => (ack.ok ? 'ok' : ack.error.code))).toEqual(['ok', 'ok', 'ok', 'rate_limited']);
    expect([await uncounted('events'), await uncounted('public')]).toEqual([6, 5]);
    client.close();
  });

  it('limits admin reads on the replica alone while Redis hangs with its connection open, instead of waiting on it', async () => {
    const auth = { authorization: `Bearer ${await signToken(t.env.JWT_SECRET, { sub: 'bea', roles: ['admin'] })}` };
    const get = () => fetch(`${t.baseUrl}/chatbox/admin/audit`, { headers: auth });
    expect((await get()).status).toBe(200);
    const before = await uncounted('admin');

    redis.pause();
    let statuses: number[];
    try {
      statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await get()).status);
    } finally {
      redis.resume();
    }
    // The replica's own count, from nothing: the budget of 3, then refused.
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect((await uncounted('admin')) - before).toBe(4);
  });
});
