import { randomBytes, randomUUID } from 'node:crypto';
import mongoose, { Connection } from 'mongoose';
import { FAKE_TEXT, FakeLlmServer, fakeModel } from '../servers/fake-llm-server';
import { OwnFerretDb, startOwnFerretDb } from '../servers/own-ferretdb';
import { RedisServer, startRedisServer } from '../servers/redis-server';
import { ChatClient, signToken } from '../utils/chat-client';
import { ChatboxProcess } from '../utils/chatbox-process';
import { testMongoUri } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

// Two replicas boot per test (10-25 s each on a loaded 2-core host, as under `npm test`), then a fault plays out.
jest.setTimeout(120_000);

type Message = { id: string; sender: string; status: string; content: string; replyTo?: string; finishReason?: string };

const key = () => randomBytes(32).toString('base64');

/** Real service processes on one database and one Redis, as replicas run in production. */
function cluster(overrides: Record<string, string> = {}) {
  const env = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    MONGODB_URI: testMongoUri(),
    REDIS_URL: process.env.CHATBOX_TEST_REDIS_URL ?? '',
    JWT_SECRET: key(),
    ENCRYPTION_KEY: key(),
    METRICS_TOKEN: key(),
    TURN_LEASE_MS: '1500',
    DEMO_DELTA_INTERVAL_MS: '100',
    ...overrides,
  };
  const processes: ChatboxProcess[] = [];
  const clients: ChatClient[] = [];
  let db: Connection | undefined;
  return {
    env,
    /** A replica of the cluster, with `own` settings on top of the cluster's. */
    async replica(own: Record<string, string> = {}): Promise<{ process: ChatboxProcess; url: string }> {
      const process = new ChatboxProcess({ ...env, ...own });
      processes.push(process);
      return { process, url: await process.listening() };
    },
    async device(url: string, userId: string): Promise<ChatClient> {
      const client = await ChatClient.connect(url, await signToken(env.JWT_SECRET, { sub: userId }));
      clients.push(client);
      return client;
    },
    async db(): Promise<Connection> {
      db ??= await mongoose.createConnection(env.MONGODB_URI).asPromise();
      return db;
    },
    async close(): Promise<void> {
      clients.forEach((c) => c.close());
      await db?.close();
      await Promise.all(processes.map((p) => p.stop()));
    },
  };
}

/** Every reply a client heard of (started, streamed or ended), with its terminal events in order. */
const terminalsById = (client: ChatClient) => {
  const byId = new Map<string, string[]>();
  for (const { event, payload } of client.events) {
    if (!event.startsWith('ai:')) continue;
    const id = payload.messageId as string;
    const terminal = event === 'ai:end' || event === 'ai:error' ? [event] : [];
    byId.set(id, [...(byId.get(id) ?? []), ...terminal]);
  }
  return byId;
};

const fake = new FakeLlmServer();
beforeAll(() => fake.start());
afterAll(() => fake.stop());

/**
 * The first reply asked of the fake model never ends by itself (a delta every `intervalMs`), so a fault
 * injected once it streams always lands mid-reply, however late a loaded host delivers it; a finite reply
 * could end first, leaving nothing to cut. Any reply after it (the answer given again) is FAKE_TEXT.
 */
const endlessFirstReply = (intervalMs: number) => {
  fake.script('openai', { kind: 'endless', intervalMs });
  return { LLM_MODELS: JSON.stringify([fakeModel(fake)]) };
};

/**
 * Two replicas and one user on both; a message sent through A, so A runs its turn: returned once B has seen
 * the reply stream. `onlyA`: settings of A's alone (B's presence heartbeat must not start the turn first).
 */
const conversation = async (c: ReturnType<typeof cluster>, onlyA: Record<string, string> = {}) => {
  // Started together, as replicas roll out: on a loaded host each takes tens of seconds to boot.
  const [a, b] = await Promise.all([c.replica(onlyA), c.replica()]);
  const user = `u-${randomUUID()}`;
  const onA = await c.device(a.url, user);
  const onB = await c.device(b.url, user);
  const { sessionId } = await onA.ok<{ sessionId: string }>('session:start', {});
  await onB.ok('session:resume', { sessionId });
  // Sent through A, so A claims the turn.
  const { messageId: question } = await onA.ok<{ messageId: string }>('message:send', {
    sessionId,
    clientMessageId: randomUUID(),
    content: 'tell me a story',
  });
  const { messageId: cut } = await onB.waitForEvent('ai:delta', (d) => (d.index as number) >= 1);
  return { a, b, onB, sessionId, question, cut: cut as string };
};

describe('a turn whose replica fails', () => {
  let c: ReturnType<typeof cluster>;
  afterEach(() => c.close());

  const expectAnsweredOnceAfterCut = async (onB: ChatClient, sessionId: string, question: string, cut: string) => {
    const error = await onB.waitForEvent('ai:error', (e) => e.messageId === cut, 30000);
    expect(error).toMatchObject({ replyTo: question, error: { code: 'interrupted', recoverable: true } });
    const end = await onB.waitForEvent('ai:end', (e) => e.messageId !== cut, 30000);
    expect(end).toMatchObject({ replyTo: question, finishReason: 'stop' });
    const { messages } = await onB.ok<{ messages: Message[] }>('session:resume', { sessionId, afterSeq: 0 });
    const replies = messages.filter((m) => m.sender === 'ai');
    expect(replies.map((m) => [m.id, m.status, m.replyTo])).toEqual([
      [cut, 'interrupted', question],
      [end.messageId, 'complete', question],
    ]);
    expect(replies[0].content.startsWith(onB.streamedText(cut))).toBe(true);
    expect(replies[0].content).not.toBe('');
    expect(replies[1].content).toBe(FAKE_TEXT);
    for (const [, events] of terminalsById(onB)) expect(events).toHaveLength(1);
    return { cutAt: onB.events.findIndex((e) => e.event === 'ai:error' && e.payload.messageId === cut) };
  };

  it('is settled by another replica when it is killed (SIGKILL): the cut reply once as interrupted, then one answer', async () => {
    c = cluster(endlessFirstReply(100));
    const { a, onB, sessionId, question, cut } = await conversation(c);
    a.process.signal('SIGKILL');
    await a.process.exited;
    await expectAnsweredOnceAfterCut(onB, sessionId, question, cut);
  });

  it('loses its lease when its process stalls past it (SIGSTOP): nothing more comes from it once it resumes', async () => {
    // Fast deltas: when the process freezes, a frame is almost always waiting to go out the moment it resumes.
    c = cluster(endlessFirstReply(20));
    const { a, onB, sessionId, question, cut } = await conversation(c);
    a.process.signal('SIGSTOP');
    const { cutAt } = await expectAnsweredOnceAfterCut(onB, sessionId, question, cut);
    a.process.signal('SIGCONT');
    await waitFor(() => /"msg":"turn lease lost/.test(a.process.stdout), {
      timeoutMs: 15000,
      what: 'the stalled replica to find its lease gone',
    });
    // The stalled replica neither streamed nor stored anything more for the reply it lost.
    expect(onB.events.slice(cutAt + 1).filter((e) => e.payload.messageId === cut)).toEqual([]);
    const db = await c.db();
    expect(await db.collection('messages').countDocuments({ sessionId, sender: 'ai' })).toBe(2);
    for (const [, events] of terminalsById(onB)) expect(events).toHaveLength(1);
  });
});

describe('a turn whose lease is taken over while its replica runs', () => {
  let c: ReturnType<typeof cluster>;
  afterEach(() => c.close());

  it('stops, sends no terminal event and stores nothing: the new holder settles it', async () => {
    c = cluster();
    const { process: replica, url } = await c.replica();
    const client = await c.device(url, `u-${randomUUID()}`);
    const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
    await client.ok('message:send', { sessionId, clientMessageId: randomUUID(), content: 'keep talking' });
    const { messageId } = await client.waitForEvent('ai:delta');
    const db = await c.db();
    // Another replica's lease now stands where this turn's was, as after a takeover.
    await db
      .collection('turn_leases')
      .updateOne(
        { _id: sessionId as never },
        { $set: { turnId: randomUUID(), expiresAt: new Date(Date.now() + 60000) } },
      );
    await waitFor(() => replica.stdout.includes('"msg":"turn lease lost: the reply is left to its new holder"'), {
      what: 'the runner to find its lease gone',
    });
    const metrics = async () =>
      (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${c.env.METRICS_TOKEN}` } })).text();
    await waitFor(async () => /^chatbox_ai_turns_in_flight 0$/m.test(await metrics()), { what: 'the turn to be over' });
    expect(client.events.filter((e) => ['ai:end', 'ai:error'].includes(e.event))).toEqual([]);
    expect(await db.collection('messages').countDocuments({ _id: messageId as never })).toBe(0);
    expect(await db.collection('turn_leases').countDocuments({ _id: sessionId as never })).toBe(1);
  });
});

describe('a turn while Redis fails', () => {
  let redis: RedisServer | undefined;
  let c: ReturnType<typeof cluster>;
  afterEach(async () => {
    redis?.resume();
    await c.close();
    await redis?.stop();
  });

  /** A reply streams on one replica when `fault` strikes Redis: it still ends, stored once, with one terminal event. */
  const expectOneReplyThrough = async (fault: (server: RedisServer) => Promise<void>) => {
    redis = await startRedisServer();
    c = cluster({ REDIS_URL: redis.url });
    const { url } = await c.replica();
    const client = await c.device(url, `u-${randomUUID()}`);
    const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
    await client.ok('message:send', { sessionId, clientMessageId: randomUUID(), content: 'keep talking' });
    const { messageId } = await client.waitForEvent('ai:delta');
    await fault(redis);
    const end = await client.waitForEvent('ai:end', () => true, 30000);
    expect(end).toMatchObject({ messageId, finishReason: 'stop' });
    const db = await c.db();
    const replies = await db.collection('messages').find({ sessionId, sender: 'ai' }).toArray();
    expect(replies.map((r) => [String(r._id), String(r.status)])).toEqual([[messageId, 'complete']]);
    expect(client.named('ai:error')).toEqual([]);
    expect(client.named('ai:end')).toHaveLength(1);
  };

  it('still ends with exactly one stored reply and one terminal event when Redis restarts', () =>
    expectOneReplyThrough(async (server) => {
      await server.stop();
      redis = await startRedisServer({ port: server.port });
    }));

  // SIGSTOP: the connection stays open and no command is answered; the reply's mirror cannot be written.
  it('still ends with exactly one stored reply and one terminal event while Redis answers nothing', () =>
    expectOneReplyThrough((server) => Promise.resolve(server.pause())));
});

describe('chatbox_active_sessions across replicas', () => {
  let c: ReturnType<typeof cluster>;
  afterEach(() => c.close());

  it('sums over two replicas to the active sessions in the database, also after one restarts', async () => {
    c = cluster({ METRICS_REFRESH_MS: '100' });
    const one = await c.replica();
    let two = await c.replica();
    const gauge = async (url: string) => {
      const text = await (
        await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${c.env.METRICS_TOKEN}` } })
      ).text();
      return Number(/^chatbox_active_sessions (\S+)$/m.exec(text)?.[1] ?? NaN);
    };
    for (const [replica, n] of [
      [one, 2],
      [two, 3],
    ] as const) {
      for (let i = 0; i < n; i++) await (await c.device(replica.url, `u-${randomUUID()}`)).ok('session:start', {});
    }
    two.process.signal('SIGTERM');
    expect(await two.process.exited).toBe(0);
    two = await c.replica();
    const db = await c.db();
    const active = () => db.collection('chat_sessions').countDocuments({ status: 'active' });
    expect(await active()).toBe(5);
    await waitFor(async () => (await gauge(one.url)) + (await gauge(two.url)) === 5, {
      what: 'the two gauges to sum to the five active sessions',
    });
    const late = await c.device(two.url, `u-${randomUUID()}`);
    const { sessionId } = await late.ok<{ sessionId: string }>('session:start', {});
    await late.ok('session:end', { sessionId });
    await (await c.device(one.url, `u-${randomUUID()}`)).ok('session:start', {});
    expect(await active()).toBe(6);
    await waitFor(async () => (await gauge(one.url)) + (await gauge(two.url)) === 6, {
      what: 'the sum to follow later changes',
    });
  });
});

describe('a replica told to stop while its database does not answer', () => {
  let db: OwnFerretDb;
  let c: ReturnType<typeof cluster>;
  afterEach(async () => {
    await db?.signal('SIGCONT').catch(() => undefined);
    await c?.close();
    await db?.stop();
  });

  it('exits cleanly within its deadline, leaving the reply it cut to its lease, and another replica stores it once', async () => {
    db = await startOwnFerretDb();
    c = cluster({ ...endlessFirstReply(100), MONGODB_URI: db.uri, SHUTDOWN_TIMEOUT_MS: '8000' });
    // A's presence heartbeat every 200 ms: one is blocked on the frozen database when the shutdown begins.
    const { a, onB, sessionId, question, cut } = await conversation(c, { SESSION_SWEEP_INTERVAL_MS: '200' });
    // Frozen, as a database server that stalls: every command waits, none fails.
    await db.signal('SIGSTOP');
    a.process.signal('SIGTERM');
    // Nothing blocked on the database held the shutdown's steps past its deadline: at most closing the
    // connection is left (it ends the sessions on the server, over a new connection when none is free, whose
    // handshake the frozen server never answers), and the deadline ends the process with what was open.
    const code = await a.process.exited;
    const shutdownLog = a.process.stdout.slice(a.process.stdout.lastIndexOf('SIGTERM received'));
    const stillOpen = /shutdown did not finish within 8000 ms; exiting now; still open: ([^"]*)"/
      .exec(shutdownLog)?.[1]
      .split('; ')[0];
    expect([
      [0, undefined],
      [1, 'closing the database connection'],
    ]).toContainEqual([code, stillOpen]);
    // The turn engine stopped waiting at half of the 8 s, so the rest of the shutdown could run.
    expect(a.process.stdout).toContain('turns not saved within 4000 ms of the shutdown: left to their leases');

    await db.signal('SIGCONT');
    const error = await onB.waitForEvent('ai:error', (e) => e.messageId === cut, 30000);
    expect(error).toMatchObject({ replyTo: question, error: { code: 'interrupted', recoverable: true } });
    const end = await onB.waitForEvent('ai:end', (e) => e.messageId !== cut, 30000);
    const { messages } = await onB.ok<{ messages: Message[] }>('session:resume', { sessionId, afterSeq: 0 });
    const replies = messages.filter((m) => m.sender === 'ai');
    expect(replies.map((m) => [m.id, m.status, m.finishReason, m.replyTo])).toEqual([
      [cut, 'interrupted', 'shutdown', question],
      [end.messageId, 'complete', 'stop', question],
    ]);
    expect(replies[0].content.startsWith(onB.streamedText(cut))).toBe(true);
    for (const [, events] of terminalsById(onB)) expect(events).toHaveLength(1);
  }, 90000);
});
