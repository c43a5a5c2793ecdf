import { randomBytes, randomUUID } from 'node:crypto';
import mongoose, { Connection } from 'mongoose';
import { FakeLlmServer } from '../servers/fake-llm-server';
import { AdminClient } from '../utils/admin-client';
import { ChatClient, signToken } from '../utils/chat-client';
import { ChatboxProcess } from '../utils/chatbox-process';
import { testMongoUri } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

const HANDOFF_MESSAGE = 'A person from our team will take it from here.';

describe('human takeover, on two service processes sharing Redis', () => {
  const fake = new FakeLlmServer();
  const secret = randomBytes(32).toString('base64');
  let processes: ChatboxProcess[];
  let urls: string[];
  let db: Connection;
  const closers: { close(): void }[] = [];

  beforeAll(async () => {
    await fake.start();
    const env = {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      MONGODB_URI: testMongoUri(),
      REDIS_URL: process.env.CHATBOX_TEST_REDIS_URL ?? '',
      JWT_SECRET: secret,
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      RATE_LIMIT_EVENTS: '100000',
      // Long enough that only the stop signal, not a lease renewal, can cut a reply within the test's wait.
      TURN_LEASE_MS: '60000',
      ADMIN_RELEASE_AFTER_MS: '1500',
      LLM_MODELS: JSON.stringify([
        {
          id: 'gpt',
          provider: 'openai',
          model: 'gpt-fake',
          baseUrl: `${fake.baseUrl}/v1`,
          apiKey: 'k',
          handoff: true,
          handoffMessage: HANDOFF_MESSAGE,
        },
      ]),
    };
    processes = [new ChatboxProcess(env), new ChatboxProcess(env)];
    urls = await Promise.all(processes.map((p) => p.listening()));
    db = await mongoose.createConnection(env.MONGODB_URI).asPromise();
  });
  afterEach(() => closers.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await db.close();
    await Promise.all(processes.map((p) => p.stop()));
    await fake.stop();
  });

  const userToken = (userId: string) => signToken(secret, { sub: userId, name: 'Uma' });
  const user = async (url: string, userId = `u-${randomUUID()}`) => {
    const client = await ChatClient.connect(url, await userToken(userId));
    closers.push(client);
    return Object.assign(client, { userId });
  };
  const admin = async (url: string, name: string) => {
    const id = `a-${randomUUID()}`;
    const client = new AdminClient(url, await signToken(secret, { sub: id, name, roles: ['admin'] }));
    closers.push(client);
    await client.connected();
    return Object.assign(client, { id, name });
  };
  const send = (client: ChatClient, sessionId: string, content: string) =>
    client.ok<{ messageId: string; seq: number }>('message:send', {
      sessionId,
      clientMessageId: randomUUID(),
      content,
    });

  it('opens one help request with the reason when the model calls request_human, seen by an admin on the other replica', async () => {
    const watcher = await admin(urls[1], 'Wes');
    await watcher.snapshot();
    const u = await user(urls[0]);
    const { sessionId } = await u.ok<{ sessionId: string }>('session:start', {});
    fake.script('openai', {
      kind: 'tool-calls',
      text: 'I cannot change refunds myself.',
      calls: [{ name: 'request_human', arguments: JSON.stringify({ reason: 'refund above the agent limit' }) }],
    });
    const asked = fake.of('openai').length;
    const { messageId } = await send(u, sessionId, 'I need a refund of 900 euros');
    const end = await u.waitForEvent('ai:end', (e) => e.replyTo === messageId);
    expect(end).toMatchObject({ finishReason: 'handoff' });
    expect(u.streamedText(end.messageId as string)).toBe(`I cannot change refunds myself.\n\n${HANDOFF_MESSAGE}`);
    const tools = fake.of('openai')[asked].body.tools as { type: string; function: { name: string } }[];
    expect(tools.map((tool) => [tool.type, tool.function.name])).toEqual([['function', 'request_human']]);

    const seen = await watcher.waitForEvent('admin:session', (e) => e.id === sessionId && e.help !== null);
    expect(seen.help).toMatchObject({ source: 'ai', reason: 'refund above the agent limit' });
    const state = await u.waitForEvent('session:state', (e) => e.id === sessionId && e.help !== null);
    expect(state.help).toMatchObject({ source: 'ai', reason: 'refund above the agent limit' });

    // Until an administrator answers, the model is not offered the tool again: one session cannot loop on it.
    const { messageId: next } = await send(u, sessionId, 'hello?');
    await u.waitForEvent('ai:end', (e) => e.replyTo === next);
    expect(fake.of('openai')[asked + 1].body.tools).toBeUndefined();
    const { messages } = await u.ok<{ messages: { sender: string; content: string }[] }>('session:resume', {
      sessionId,
    });
    expect(messages.filter((m) => m.sender === 'system').map((m) => m.content)).toEqual([
      'The assistant asked for a human: refund above the agent limit',
    ]);

    // Once an administrator has taken the session, the model may ask again after the hand-back.
    await watcher.ok('admin:join', { sessionId });
    await watcher.ok('admin:leave', { sessionId });
    const { messageId: later } = await send(u, sessionId, 'one more question');
    await u.waitForEvent('ai:end', (e) => e.replyTo === later);
    const offered = fake.of('openai')[asked + 2].body.tools as { function: { name: string } }[];
    expect(offered.map((tool) => tool.function.name)).toEqual(['request_human']);
  });

  it('lets exactly one of two admins on two replicas take a session, 20 times; the other is told who holds it', async () => {
    const ann = await admin(urls[0], 'Ann');
    const bob = await admin(urls[1], 'Bob');
    const u = await user(urls[0]);
    for (let round = 0; round < 20; round++) {
      const { sessionId } = await u.ok<{ sessionId: string }>('session:start', {});
      const acks = await Promise.all([
        ann.call<{ owner: string }>('admin:join', { sessionId }),
        bob.call<{ owner: string }>('admin:join', { sessionId }),
      ]);
      const won = acks.filter((a) => a.ok);
      expect(won).toHaveLength(1);
      const winner = acks[0].ok ? ann : bob;
      const loser = acks[0].ok ? acks[1] : acks[0];
      expect(loser).toMatchObject({
        ok: false,
        error: { code: 'session_taken', holder: { id: winner.id, name: winner.name } },
      });
      const { session } = await u.ok<{ session: { owner: string } }>('session:resume', { sessionId });
      expect(session.owner).toBe(`admin:${winner.id}`);
    }
  });

  it('cuts a streaming reply at once on takeover; then user messages reach the admin, and its replies every device', async () => {
    const u = await user(urls[0]);
    const other = await user(urls[1], u.userId);
    const { sessionId } = await u.ok<{ sessionId: string }>('session:start', {});
    await other.ok('session:resume', { sessionId });
    fake.script('openai', { kind: 'endless', intervalMs: 20 });
    const { messageId } = await send(u, sessionId, 'tell me a long story');
    const start = await u.waitForEvent('ai:start', (e) => e.replyTo === messageId);
    await u.waitForEvent('ai:delta', (e) => e.messageId === start.messageId);
    const asked = fake.of('openai').length;

    const ann = await admin(urls[1], 'Ann');
    const joining = ann.ok('admin:join', { sessionId });
    const terminal = await u.waitForEvent(
      'ai:error',
      (e) => e.messageId === start.messageId,
      // The acceptance bound: the reply ends within 500 ms of the takeover being asked for.
      500,
    );
    await joining;
    expect(terminal).toMatchObject({ error: { code: 'interrupted' } });
    expect(u.events.filter((e) => e.event === 'ai:end' || e.event === 'ai:error')).toHaveLength(1);
    await other.waitForEvent('admin:joined', (e) => e.sessionId === sessionId);

    const { messageId: later } = await send(other, sessionId, 'is a person there?');
    await ann.waitForEvent('message:new', (e) => e.id === later && e.sender === 'user');
    const reply = await ann.ok<{ messageId: string }>('admin:message', {
      sessionId,
      clientMessageId: randomUUID(),
      content: 'Yes, Ann here.',
    });
    for (const device of [u, other]) {
      expect(await device.waitForEvent('message:new', (e) => e.id === reply.messageId)).toMatchObject({
        sender: 'admin',
        senderName: 'Ann',
        content: 'Yes, Ann here.',
      });
    }
    // Nothing of the cut reply came after its terminal event, and no AI turn started for what followed.
    const cutAt = u.events.findIndex((e) => e.event === 'ai:error' && e.payload.messageId === start.messageId);
    const lastDelta = u.events.findLastIndex((e) => e.event === 'ai:delta' && e.payload.messageId === start.messageId);
    expect(lastDelta).toBeLessThan(cutAt);
    expect(u.named('ai:start')).toHaveLength(1);
    expect(fake.of('openai')).toHaveLength(asked);
  });

  it("hands the session back when the admin's sockets are all gone for the grace period, and tells the user", async () => {
    const u = await user(urls[0]);
    const { sessionId } = await u.ok<{ sessionId: string }>('session:start', {});
    const ann = await admin(urls[1], 'Ann');
    await ann.ok('admin:join', { sessionId });
    await u.waitForEvent('admin:joined', (e) => e.sessionId === sessionId);
    // Connected to the other replica, the admin keeps the session past the grace period: the replica
    // holding its socket keeps refreshing the hold.
    const stored = () => db.collection('chat_sessions').findOne({ _id: sessionId as never });
    await waitFor(
      async () => {
        const hold = (await stored())?.hold as { since: Date; seenAt: Date } | undefined;
        return hold && hold.seenAt.getTime() - hold.since.getTime() > 2000;
      },
      { timeoutMs: 10000, what: 'the hold to be refreshed past the grace period' },
    );
    expect(await stored()).toMatchObject({ owner: `admin:${ann.id}` });
    ann.close();
    const left = await u.waitForEvent('admin:left', (e) => e.sessionId === sessionId, 15000);
    expect(left).toEqual({ sessionId, adminId: ann.id, adminName: 'Ann', reason: 'admin_gone' });
    const { session } = await u.ok<{ session: { owner: string; holder: unknown } }>('session:resume', { sessionId });
    expect(session).toMatchObject({ owner: 'ai', holder: null });
    // The AI answers again.
    const { messageId } = await send(u, sessionId, 'hello again');
    await u.waitForEvent('ai:end', (e) => e.replyTo === messageId);
  });
});
