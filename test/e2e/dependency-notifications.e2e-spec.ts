import { randomBytes } from 'node:crypto';
import { AppConfig } from '../../src/config/app-config';
import { NotificationService } from '../../src/notification/notification.service';
import { OwnFerretDb, startOwnFerretDb } from '../servers/own-ferretdb';
import { HttpReceiver } from '../servers/http-receiver';
import { RedisServer, startRedisServer } from '../servers/redis-server';
import { ChatboxProcess } from '../utils/chatbox-process';
import { startTestApp, TestApp, testEnv } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

interface Hook {
  id: string;
  event: string;
  data: { dependency?: string; detail?: string };
}

/** The JSON log lines of a process that say it handled `event` (raised it, or left it to another replica). */
const handled = (p: ChatboxProcess, event: string) =>
  p.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; raisedHere?: boolean })
    .filter((line) => line.msg === `${event} handled`);

/**
 * Two service processes on a MongoDB and a Redis of their own (which the tests break), telling a webhook
 * receiver; `extra` adds to their environment.
 */
function twoReplicasOnOwnServers(extra: Record<string, string>) {
  const cluster = {
    hooks: new HttpReceiver(),
    mongo: undefined as unknown as OwnFerretDb,
    redis: undefined as unknown as RedisServer,
    replicas: [] as ChatboxProcess[],
  };
  beforeAll(async () => {
    [cluster.mongo, cluster.redis] = await Promise.all([startOwnFerretDb(), startRedisServer(), cluster.hooks.start()]);
    const env = testEnv({
      MONGODB_URI: cluster.mongo.uri,
      REDIS_URL: cluster.redis.url,
      WEBHOOK_URLS: `${cluster.hooks.baseUrl}/hooks`,
      WEBHOOK_SECRET: randomBytes(32).toString('base64'),
      DEPENDENCY_DOWN_AFTER_MS: '1000',
      ...extra,
    });
    cluster.replicas = [new ChatboxProcess(env), new ChatboxProcess(env)];
    await Promise.all(cluster.replicas.map((r) => r.listening()));
  });
  afterAll(async () => {
    await Promise.all(cluster.replicas.map((r) => r.stop()));
    await Promise.all([cluster.mongo?.stop(), cluster.redis?.stop(), cluster.hooks.stop()]);
  });
  return cluster;
}

describe('dependency notifications, on two service processes', () => {
  const cluster = twoReplicasOnOwnServers({ NOTIFY_POLL_MS: '200' });
  const { hooks } = cluster;

  const received = (event: string) =>
    hooks.requests.map((r) => JSON.parse(r.rawBody) as Hook).filter((hook) => hook.event === event);
  /** Once both replicas handled `event`, what the receiver got of it. */
  const settled = async (event: string, dependency: string) => {
    await waitFor(() => cluster.replicas.every((r) => handled(r, event).length === 1), {
      timeoutMs: 20000,
      what: `both replicas to handle ${event}`,
    });
    await waitFor(() => received(event).length > 0, { timeoutMs: 20000, what: `the ${event} webhook` });
    expect(cluster.replicas.map((r) => handled(r, event)[0].raisedHere).sort()).toEqual([false, true]);
    const hooksOf = received(event);
    expect(hooksOf).toHaveLength(1);
    expect(hooksOf[0].data.dependency).toBe(dependency);
    return hooksOf[0];
  };

  it('tells once that MongoDB is unreachable, straight from one replica, and once that it is back', async () => {
    await cluster.mongo.kill();
    const down = await settled('dependency.down', 'MongoDB');
    expect(down.data.detail).toMatch(/^unreachable for \d+ s: /);

    await cluster.mongo.start();
    await settled('dependency.recovered', 'MongoDB');
  });

  it('tells once that Redis is unreachable, through the outbox, and once that it is back', async () => {
    hooks.reset();
    cluster.replicas.forEach((r) => (r.stdout = ''));
    await cluster.redis.stop();
    await settled('dependency.down', 'Redis');

    cluster.redis = await startRedisServer({ port: cluster.redis.port });
    await settled('dependency.recovered', 'Redis');
  });
});

describe('a notification raised while MongoDB is down', () => {
  const hooks = new HttpReceiver();
  let mongo: OwnFerretDb;
  let t: TestApp;

  beforeAll(async () => {
    [mongo] = await Promise.all([startOwnFerretDb(), hooks.start()]);
    t = await startTestApp({
      MONGODB_URI: mongo.uri,
      WEBHOOK_URLS: `${hooks.baseUrl}/hooks`,
      WEBHOOK_SECRET: randomBytes(32).toString('base64'),
      NOTIFY_POLL_MS: '200',
    });
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([mongo.stop(), hooks.stop()]);
  });

  it('is stored and delivered once MongoDB is back, under the id it would have had', async () => {
    const notifications = t.app.get(NotificationService);
    const occurredAt = new Date();
    const raise = {
      event: 'provider.down' as const,
      key: 'https://llm.example.test',
      data: { provider: 'openai' },
      occurredAt,
    };
    await mongo.kill();

    expect(await notifications.raise(raise)).toEqual([]);
    await mongo.start();

    const [hook] = await waitFor(() => (hooks.requests.length > 0 ? hooks.requests : undefined), {
      timeoutMs: 30000,
      what: 'the notification, stored again and delivered',
    });
    const window = Math.floor(occurredAt.getTime() / t.app.get(AppConfig).notify.minIntervalMs);
    expect(JSON.parse(hook.rawBody)).toMatchObject({
      id: `provider.down:https://llm.example.test:${window}:webhook`,
      event: 'provider.down',
      occurredAt: occurredAt.toISOString(),
    });
    // Raised again now, it is the same notification: nothing new is stored.
    expect(await notifications.raise(raise)).toEqual([]);
    expect(hooks.requests).toHaveLength(1);
  });
});

describe('MongoDB down, and the replica telling the admins dies', () => {
  // The sender's lease lasts 2 s unless renewed.
  const cluster = twoReplicasOnOwnServers({ NOTIFY_CLAIM_MS: '2000' });
  const { hooks } = cluster;

  it('is told by the other replica once the lease of the one that died runs out (SIGKILL)', async () => {
    hooks.script({ hang: true });
    await cluster.mongo.kill();
    await waitFor(() => hooks.requests.length === 1, { timeoutMs: 20000, what: 'the first attempt' });
    const sender = await waitFor(
      () => cluster.replicas.find((r) => r.stdout.includes('telling the admins from this replica')),
      { what: 'the replica telling the admins' },
    );
    const survivor = cluster.replicas.find((r) => r !== sender)!;
    sender.signal('SIGKILL');
    await sender.exited;

    await waitFor(() => handled(survivor, 'dependency.down').length === 1, {
      timeoutMs: 20000,
      what: 'the other replica to tell',
    });
    expect(handled(survivor, 'dependency.down')[0].raisedHere).toBe(true);
    expect(hooks.requests).toHaveLength(2);
    expect(JSON.parse(hooks.requests[1].rawBody)).toMatchObject({
      event: 'dependency.down',
      data: { dependency: 'MongoDB' },
    });
  });
});
