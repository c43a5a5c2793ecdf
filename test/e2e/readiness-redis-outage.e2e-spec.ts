import type Redis from 'ioredis';
import { RedisConnection } from '../../src/redis/redis-connection';
import { RedisServer, startRedisServer } from '../servers/redis-server';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

/**
 * Every replica shares one Redis: if readiness needed it, its outage would take the whole fleet out of the
 * load balancer at once. Readiness reports it instead, and the replica says it is degraded.
 */
describe('readiness while Redis is down', () => {
  let redis: RedisServer;
  let t: TestApp;
  let redisDown = false;

  beforeAll(async () => {
    redis = await startRedisServer();
    t = await startTestApp({ REDIS_URL: redis.url, READINESS_CHECK_TIMEOUT_MS: '500' });
  });
  afterAll(async () => {
    if (redisDown) redis = await startRedisServer({ port: redis.port });
    await t?.close();
    await redis?.stop();
  });

  const readiness = async () => {
    const res = await fetch(`${t.baseUrl}/chatbox/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const degradedMetric = async () => {
    const text = await (
      await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${t.env.METRICS_TOKEN}` } })
    ).text();
    return /^chatbox_degraded\{dependency="redis"\} (\d+)$/m.exec(text)?.[1];
  };

  it('stays ready, reporting Redis down and the replica degraded, and recovers when Redis is back', async () => {
    expect(await readiness()).toMatchObject({ status: 200, body: { degraded: [] } });
    expect(await degradedMetric()).toBe('0');

    await redis.stop();
    redisDown = true;
    const connection = t.app.get(RedisConnection).client as Redis;
    await waitFor(() => connection.status !== 'ready', { what: 'the app to notice Redis is gone' });

    expect(await readiness()).toMatchObject({
      status: 200,
      body: {
        status: 'ok',
        details: { mongodb: { status: 'up' }, redis: { status: 'down' } },
        error: { redis: { status: 'down' } },
        degraded: ['redis'],
      },
    });
    expect(await degradedMetric()).toBe('1');

    redis = await startRedisServer({ port: redis.port });
    redisDown = false;
    await waitFor(async () => (await degradedMetric()) === '0', { what: 'the replica to stop being degraded' });
    expect(await readiness()).toMatchObject({
      status: 200,
      body: { details: { redis: { status: 'up' } }, degraded: [] },
    });
  });
});
