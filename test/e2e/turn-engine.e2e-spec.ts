import { randomUUID } from 'node:crypto';
import mongoose, { Connection } from 'mongoose';
import { ChatGateway } from '../../src/gateway/chat.gateway';
import { ContentCipher } from '../../src/session/content-cipher';
import { SessionService } from '../../src/session/session.service';
import { FakeLlmServer } from '../servers/fake-llm-server';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

type Message = {
  id: string;
  seq: number;
  sender: string;
  content: string;
  status: string;
  replyTo?: string;
  finishReason?: string;
};
type InFlight = { messageId: string; replyTo: string; index: number | null; text: string | null };
type Resumed = { messages: Message[]; hasMore: boolean; inFlight: InFlight | null; session: { owner: string } };

describe('the turn engine', () => {
  const fake = new FakeLlmServer();
  let t: TestApp;
  let db: Connection;
  const clients: ChatClient[] = [];

  const device = async (app: TestApp, userId: string) => {
    const client = await ChatClient.connect(app.baseUrl, await signToken(t.env.JWT_SECRET, { sub: userId }));
    clients.push(client);
    return client;
  };
  const send = (client: ChatClient, sessionId: string, content: string, extra: Record<string, unknown> = {}) =>
    client.ok<{ messageId: string; seq: number }>('message:send', {
      sessionId,
      clientMessageId: randomUUID(),
      content,
      ...extra,
    });
  const terminals = (client: ChatClient) =>
    client.events.filter((e) => e.event === 'ai:end' || e.event === 'ai:error').map((e) => e.payload);

  beforeAll(async () => {
    await fake.start();
    const models = [
      { id: 'demo', provider: 'demo' },
      { id: 'gpt', provider: 'openai', model: 'gpt-fake', baseUrl: `${fake.baseUrl}/v1`, apiKey: 'k' },
      {
        id: 'small',
        provider: 'openai',
        model: 'small-fake',
        baseUrl: `${fake.baseUrl}/small/v1`,
        apiKey: 'k',
        contextTokens: 3000,
        maxTokens: 500,
      },
    ];
    t = await startTestApp({
      LLM_MODELS: JSON.stringify(models),
      REDIS_URL: process.env.CHATBOX_TEST_REDIS_URL,
      DEMO_DELTA_INTERVAL_MS: '20',
      RATE_LIMIT_EVENTS: '100000',
    });
    db = await mongoose.createConnection(t.env.MONGODB_URI).asPromise();
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await db.close();
    await t.close();
    await fake.stop();
  });

  it('prompts a message sent back to back with the reply to the one before it: user, assistant, user', async () => {
    const a = await device(t, `u-${randomUUID()}`);
    const { sessionId } = await a.ok<{ sessionId: string }>('session:start', { modelId: 'gpt' });
    fake.script(
      'openai',
      { kind: 'slow', firstTokenDelayMs: 300, text: 'Alpha answered.' },
      { kind: 'ok', text: 'Beta answered.' },
    );
    const before = fake.of('openai').length;
    await send(a, sessionId, 'alpha');
    await send(a, sessionId, 'beta');
    await waitFor(() => a.named('ai:end').length === 2, { what: 'both replies' });
    const prompts = fake
      .of('openai')
      .slice(before)
      .map((r) => (r.body as { messages: unknown[] }).messages);
    expect(prompts).toEqual([
      [{ role: 'user', content: 'alpha' }],
      [
        { role: 'user', content: 'alpha' },
        { role: 'assistant', content: 'Alpha answered.' },
        { role: 'user', content: 'beta' },
      ],
    ]);
    const { messages } = await a.ok<Resumed>('session:resume', { sessionId, afterSeq: 0 });
    // Stored in seq order, each reply naming the message it answers.
    expect(messages.map((m) => [m.sender, m.content, m.replyTo])).toEqual([
      ['user', 'alpha', undefined],
      ['user', 'beta', undefined],
      ['ai', 'Alpha answered.', messages[0].id],
      ['ai', 'Beta answered.', messages[1].id],
    ]);
  });

  it('lets a reply survive a reload onto another replica: inFlight, then the remaining deltas, the whole text once', async () => {
    const two = await startTestApp({
      ...t.env,
      LLM_MODELS: t.env.LLM_MODELS,
      PORT: '0',
    });
    try {
      const user = `u-${randomUUID()}`;
      const before = await device(t, user);
      const { sessionId } = await before.ok<{ sessionId: string }>('session:start', {});
      const { messageId: question } = await send(before, sessionId, 'a long story please');
      await before.waitForEvent('ai:delta', (d) => (d.index as number) >= 2);
      before.close();
      // The only device is gone, as far as the server can tell.
      await waitFor(() => !t.app.get(ChatGateway).localSessionIds().includes(sessionId), {
        what: 'the server to see the device leave',
      });

      const after = await device(two, user);
      const resumed = await after.ok<Resumed>('session:resume', { sessionId });
      expect(resumed.inFlight).toMatchObject({ replyTo: question });
      const { messageId, index, text } = resumed.inFlight as InFlight;
      expect(index).toBeGreaterThanOrEqual(2);
      const end = await after.waitForEvent('ai:end', (e) => e.messageId === messageId);
      const later = after
        .named('ai:delta')
        .filter((d) => d.messageId === messageId && (d.index as number) > (index as number))
        .sort((x, y) => (x.index as number) - (y.index as number));
      // No frame is missing between what inFlight held and what arrived after it.
      expect(later.map((d) => d.index)).toEqual(later.map((_, i) => (index as number) + 1 + i));
      const assembled = `${text}${later.map((d) => d.text as string).join('')}`;
      const { messages } = await after.ok<Resumed>('session:resume', { sessionId });
      const stored = messages.find((m) => m.id === messageId);
      expect(stored).toMatchObject({ status: 'complete', replyTo: question, finishReason: 'stop' });
      expect(assembled).toBe(stored?.content);
      expect(end).toMatchObject({ finishReason: 'stop', replyTo: question });
    } finally {
      await two.close();
    }
  });

  it('prompts with the newest history that fits, and pages a long transcript', async () => {
    const user = `u-${randomUUID()}`;
    const a = await device(t, user);
    const { sessionId } = await a.ok<{ sessionId: string }>('session:start', { modelId: 'small' });
    // 1,200 messages written straight into the database: 600 questions, each answered.
    const cipher = t.app.get(ContentCipher, { strict: false });
    const now = Date.now();
    const seeded = Array.from({ length: 1200 }, (_, i) => {
      const seq = i + 1;
      const user = seq % 2 === 1;
      return {
        _id: `seed-${sessionId}-${seq}`,
        sessionId,
        seq,
        clientKey: user ? `c:seed-${seq}` : `r:seed-${sessionId}-${seq - 1}:0`,
        sender: user ? 'user' : 'ai',
        content: cipher.encrypt(user ? `question ${seq}` : `answer ${seq}`),
        status: 'complete',
        createdAt: new Date(now + i),
        ...(user ? { answered: true, attempt: 0 } : { replyTo: `seed-${sessionId}-${seq - 1}`, replyToSeq: seq - 1 }),
      };
    });
    await db.collection('messages').insertMany(seeded as never[]);
    await db
      .collection('chat_sessions')
      .updateOne({ _id: sessionId as never }, { $set: { lastSeq: 1200, messageCount: 1200 } });

    await send(a, sessionId, 'what did we say last?');
    await a.waitForEvent('ai:end');
    const prompt = (fake.of('openai').at(-1)?.body as { messages: { role: string; content: string }[] }).messages;
    expect(prompt.at(-1)).toEqual({ role: 'user', content: 'what did we say last?' });
    expect(prompt.at(-2)).toEqual({ role: 'assistant', content: 'answer 1200' });
    expect(prompt.at(-3)).toEqual({ role: 'user', content: 'question 1199' });
    // The budget (3,000 - 500 tokens) holds far fewer than 1,200 messages: the oldest are the ones left out.
    expect(prompt.length).toBeLessThan(1200);
    expect(prompt.map((m) => m.content)).not.toContain('question 1');
    expect(prompt.slice(0, -1).every((m, i, all) => i === 0 || m.role !== all[i - 1].role)).toBe(true);

    const first = await a.ok<Resumed>('session:resume', { sessionId, afterSeq: 0 });
    expect([first.messages.length, first.messages[0].seq, first.hasMore]).toEqual([200, 1, true]);
    const newest = await a.ok<Resumed>('session:resume', { sessionId });
    expect([newest.messages.length, newest.messages.at(-1)?.sender, newest.hasMore]).toEqual([200, 'ai', true]);
    const token = await signToken(t.env.JWT_SECRET, { sub: user });
    const back = (await (
      await fetch(`${t.baseUrl}/chatbox/sessions/${sessionId}/messages?beforeSeq=${newest.messages[0].seq}&limit=50`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as { messages: Message[]; hasMore: boolean };
    expect(back.messages.map((m) => m.seq)).toEqual(
      Array.from({ length: 50 }, (_, i) => newest.messages[0].seq - 50 + i),
    );
    expect(back.hasMore).toBe(true);
  });

  it('shows a message that cannot be decrypted as unreadable, leaves it out of the prompt, and answers the next one', async () => {
    const a = await device(t, `u-${randomUUID()}`);
    const { sessionId } = await a.ok<{ sessionId: string }>('session:start', { modelId: 'gpt' });
    await send(a, sessionId, 'written under a key that is gone');
    await a.waitForEvent('ai:end');
    await db
      .collection('messages')
      .updateOne({ sessionId, seq: 1 }, { $set: { content: 'v1:retired:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });

    const { messages } = await a.ok<Resumed>('session:resume', { sessionId, afterSeq: 0 });
    expect(messages[0]).toMatchObject({ seq: 1, status: 'unreadable', content: '' });
    await send(a, sessionId, 'still there?');
    const end = await a.waitForEvent('ai:end', (e) => e.messageId !== a.named('ai:end')[0].messageId);
    expect(end).toMatchObject({ finishReason: 'stop' });
    // The unreadable question and the answer to it are both left out.
    const prompt = (fake.of('openai').at(-1)?.body as { messages: { role: string; content: string }[] }).messages;
    expect(prompt).toEqual([{ role: 'user', content: 'still there?' }]);
  });

  it('answers 50 users who send at the same moment: 50 replies stored, 50 ai:end, no ai:error', async () => {
    // A database of its own: the embedded server scans whole collections, and other tests' data would slow it.
    const own = await startTestApp({ DEMO_DELTA_INTERVAL_MS: '20', JWT_SECRET: t.env.JWT_SECRET });
    const ownDb = await mongoose.createConnection(own.env.MONGODB_URI).asPromise();
    try {
      const users = await Promise.all(
        Array.from({ length: 50 }, async () => {
          const client = await device(own, `u-${randomUUID()}`);
          const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
          return { client, sessionId };
        }),
      );
      await Promise.all(users.map(({ client, sessionId }) => send(client, sessionId, 'all at once')));
      await waitFor(() => users.every(({ client }) => terminals(client).length === 1), {
        timeoutMs: 60000,
        what: '50 replies',
      });
      expect(users.flatMap(({ client }) => client.named('ai:error'))).toEqual([]);
      const stored = await ownDb
        .collection('messages')
        .countDocuments({ sessionId: { $in: users.map((u) => u.sessionId) }, sender: 'ai', status: 'complete' });
      expect(stored).toBe(50);
    } finally {
      clients.splice(0).forEach((c) => c.close());
      await ownDb.close();
      await own.close();
    }
  }, 90000);

  it('leaves the next queued turn alone when a stop arrives for a reply that already ended', async () => {
    const a = await device(t, `u-${randomUUID()}`);
    const { sessionId } = await a.ok<{ sessionId: string }>('session:start', {});
    await send(a, sessionId, 'first');
    await send(a, sessionId, 'second');
    const [first] = await waitFor(() => a.named('ai:end').length >= 1 && a.named('ai:end'), {
      what: 'the first reply',
    });
    await a.waitForEvent('ai:start', (s) => s.messageId !== first.messageId);
    expect(await a.ok('message:stop', { sessionId, messageId: first.messageId })).toEqual({ stopping: false });
    const [, second] = await waitFor(() => a.named('ai:end').length === 2 && a.named('ai:end'), {
      what: 'the second reply',
    });
    expect(second.finishReason).toBe('stop');
    // A stop naming the running reply does stop it.
    await send(a, sessionId, 'third');
    const third = await a.waitForEvent('ai:delta', (d) => ![first, second].some((e) => e.messageId === d.messageId));
    expect(await a.ok('message:stop', { sessionId, messageId: third.messageId })).toEqual({ stopping: true });
    expect(await a.waitForEvent('ai:end', (e) => e.messageId === third.messageId)).toMatchObject({
      finishReason: 'stopped',
    });
  });

  it("stops the previous session's reply when the user starts a new session", async () => {
    const a = await device(t, `u-${randomUUID()}`);
    const { sessionId } = await a.ok<{ sessionId: string }>('session:start', {});
    await send(a, sessionId, 'a long answer please');
    const { messageId } = await a.waitForEvent('ai:delta');
    await a.ok('session:start', {});
    // The device moved to the new session's room; the old reply's end is in the record.
    const stored = await waitFor(
      async () => (await db.collection('messages').findOne({ _id: messageId as never })) ?? undefined,
      {
        what: 'the cut reply to be stored',
      },
    );
    expect(stored).toMatchObject({ status: 'stopped', finishReason: 'session_ended' });
  });

  it('keeps a reply streaming when every device leaves, and stops it once none came back for TURN_ABANDON_AFTER_MS', async () => {
    const patient = await startTestApp({
      ...t.env,
      PORT: '0',
      TURN_ABANDON_AFTER_MS: '1000',
      LLM_TURN_TIMEOUT_MS: '60000',
    });
    try {
      const a = await device(patient, `u-${randomUUID()}`);
      const { sessionId } = await a.ok<{ sessionId: string }>('session:start', { modelId: 'gpt' });
      fake.script('openai', { kind: 'endless', intervalMs: 20 });
      await send(a, sessionId, 'talk until nobody listens');
      const { messageId } = await a.waitForEvent('ai:delta');
      const upstream = fake.of('openai').at(-1);
      a.close();
      await waitFor(() => !patient.app.get(ChatGateway).localSessionIds().includes(sessionId), {
        what: 'the server to see the device leave',
      });
      const seenBeforeLeaving = a.streamedText(messageId as string);
      const stored = await waitFor(
        async () => (await db.collection('messages').findOne({ _id: messageId as never })) ?? undefined,
        // The devices are counted every quarter of the abandon window; a loaded host stores the reply later.
        { timeoutMs: 30_000, what: 'the abandoned reply to be stored' },
      );
      expect(stored).toMatchObject({ status: 'stopped', finishReason: 'abandoned' });
      expect(upstream?.aborted).toBe(true);
      // It went on streaming after the device left, for at least the abandon window.
      const content = t.app.get(ContentCipher, { strict: false }).decrypt(stored.content as string);
      expect(content.startsWith(seenBeforeLeaving)).toBe(true);
      expect(content.length).toBeGreaterThan(seenBeforeLeaving.length + 'more '.length * 10);
    } finally {
      await patient.close();
    }
  });

  /** A reply (about 3 s) that outlasts several renewals of its lease (every 333 ms), on an app of its own. */
  const slowReplyUnderShortLease = async (
    scene: (context: { app: TestApp; a: ChatClient; sessionId: string; messageId: string }) => Promise<void>,
  ) => {
    const app = await startTestApp({ ...t.env, PORT: '0', TURN_LEASE_MS: '1000', DEMO_DELTA_INTERVAL_MS: '100' });
    try {
      const a = await device(app, `u-${randomUUID()}`);
      const { sessionId } = await a.ok<{ sessionId: string }>('session:start', {});
      await send(a, sessionId, 'a long answer please');
      const { messageId } = await a.waitForEvent('ai:delta');
      await scene({ app, a, sessionId, messageId: messageId as string });
    } finally {
      await app.close();
    }
  };

  it('stops a reply whose stop signal was lost: the runner reads the request from the lease when it renews', () =>
    slowReplyUnderShortLease(async ({ app, a, sessionId, messageId }) => {
      // message:stop writes the request to the lease and publishes a signal; only the first half happens here.
      expect(await app.app.get(SessionService).flagStop(sessionId, 'stopped', messageId)).not.toBeNull();
      expect(await a.waitForEvent('ai:end', (e) => e.messageId === messageId)).toMatchObject({
        finishReason: 'stopped',
      });
    }));

  it('stops a running reply when the session changes owner, and owes the new owner, not the AI, what follows', () =>
    slowReplyUnderShortLease(async ({ app, a, sessionId, messageId }) => {
      // Queued behind the running reply, from before the change: the AI must not take it on either.
      const { messageId: queued } = await send(a, sessionId, 'and another thing');
      // What a takeover does to the record; no stop signal is sent, so the runner must see it at renewal.
      const sessions = app.app.get(SessionService);
      const change = { owner: 'admin:ops-1', cause: 'takeover', actor: 'admin:ops-1' } as const;
      expect((await sessions.changeOwner(await sessions.find(sessionId), change))?.session).toMatchObject({ epoch: 1 });
      expect(await a.waitForEvent('ai:error', (e) => e.messageId === messageId)).toMatchObject({
        error: { code: 'interrupted', message: 'A human agent took over the conversation' },
      });
      expect(await db.collection('messages').findOne({ _id: messageId as never })).toMatchObject({
        status: 'interrupted',
        finishReason: 'owner_changed',
      });
      const { messageId: later } = await send(a, sessionId, 'is anyone there?');
      const stored = await db.collection('messages').findOne({ _id: later as never });
      expect(stored).toMatchObject({ sender: 'user', answered: true });
      const { session } = await a.ok<Resumed>('session:resume', { sessionId });
      expect(session.owner).toBe('admin:ops-1');
      await waitFor(() => leaseGone(sessionId), { what: 'the AI to give the session up' });
      expect(a.named('ai:start')).toHaveLength(1);
      expect(await db.collection('messages').findOne({ _id: queued as never })).toMatchObject({ answered: false });
    }));

  const leaseGone = async (sessionId: string) =>
    (await db.collection('turn_leases').countDocuments({ _id: sessionId as never })) === 0;
  /**
   * The lease a replica that died before releasing it leaves behind, for a stored reply: expired, or expiring
   * after `expiresInMs` (for a test that changes more before another replica may take it over).
   */
  const leaveExpiredLease = async (sessionId: string, question: string, replyId: string, expiresInMs = -1000) => {
    const stored = await db.collection('messages').findOne({ _id: replyId as never });
    await db.collection('turn_leases').insertOne({
      _id: sessionId as never,
      turnId: stored?.turnId as string,
      replica: 'dead-replica',
      replyTo: question,
      replyToSeq: 1,
      messageId: replyId,
      attempt: 0,
      expiresAt: new Date(Date.now() + expiresInMs),
      stop: null,
      settling: null,
    });
    return stored;
  };

  it('settles a lease left behind by a finished turn without a second terminal event or a changed reply', async () => {
    const fenced = await startTestApp({ ...t.env, PORT: '0', TURN_LEASE_MS: '1000' });
    try {
      const a = await device(fenced, `u-${randomUUID()}`);
      const { sessionId } = await a.ok<{ sessionId: string }>('session:start', {});
      const { messageId: question } = await send(a, sessionId, 'answer me once');
      const end = await a.waitForEvent('ai:end');
      await waitFor(() => leaseGone(sessionId), { what: 'the turn to release its lease' });
      // What a replica that died after storing the reply, before releasing its lease, leaves behind.
      const stored = await leaveExpiredLease(sessionId, question, end.messageId as string);
      await waitFor(() => leaseGone(sessionId), { what: 'the left-over lease to be settled' });
      expect(a.named('ai:end')).toEqual([end]);
      expect(a.named('ai:error')).toEqual([]);
      expect(await db.collection('messages').findOne({ _id: end.messageId as never })).toEqual(stored);
      expect(await db.collection('messages').countDocuments({ sessionId })).toBe(2);
    } finally {
      await fenced.close();
    }
  });

  // As a replica killed right after storing the reply, or after recording it as the answer, leaves it: the
  // answer not recorded (or recorded), its end not announced, and the lease of its turn, which expires.
  for (const { died, recorded } of [
    { died: 'stored but did not live to record', recorded: false },
    { died: 'recorded as the answer but did not live to announce', recorded: true },
  ]) {
    it(`records and announces, once, a reply its writer ${died}`, async () => {
      const fenced = await startTestApp({ ...t.env, PORT: '0', TURN_LEASE_MS: '1000' });
      try {
        const a = await device(fenced, `u-${randomUUID()}`);
        const { sessionId } = await a.ok<{ sessionId: string }>('session:start', {});
        const { messageId: question } = await send(a, sessionId, 'answer me');
        const end = await a.waitForEvent('ai:end');
        await waitFor(() => leaseGone(sessionId), { what: 'the turn to release its lease' });
        // The lease goes first, so no new turn can claim the message; it expires once the rest is in place.
        await leaveExpiredLease(sessionId, question, end.messageId as string, 1500);
        if (!recorded) {
          await db.collection('messages').updateOne({ _id: question as never }, { $set: { answered: false } });
        }
        await db.collection('reply_announcements').deleteOne({ _id: end.messageId as never });
        await waitFor(() => a.named('ai:end').length === 2, { what: 'the next holder of the lease to announce it' });
        await waitFor(() => leaseGone(sessionId), { what: 'the lease to be released' });
        expect(a.named('ai:end')).toEqual([end, end]);
        expect(a.named('ai:error')).toEqual([]);
        expect(await db.collection('messages').findOne({ _id: question as never })).toMatchObject({ answered: true });
        expect(await db.collection('reply_announcements').countDocuments({ _id: end.messageId as never })).toBe(1);
        expect(await db.collection('messages').countDocuments({ sessionId, sender: 'ai' })).toBe(1);
      } finally {
        await fenced.close();
      }
    });
  }

  it('refuses fileIds of files the sender has not uploaded, storing nothing, and says who owns the session', async () => {
    const a = await device(t, `u-${randomUUID()}`);
    const started = await a.ok<{ sessionId: string; owner: string; epoch: number }>('session:start', {});
    expect(started).toMatchObject({ owner: 'ai', epoch: 0 });
    const send = (fileIds: string[]) =>
      a.call('message:send', {
        sessionId: started.sessionId,
        clientMessageId: randomUUID(),
        content: 'see attached',
        fileIds,
      });
    expect(await send(['f1'])).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    expect(await send([randomUUID()])).toMatchObject({ ok: false, error: { code: 'not_found', recoverable: false } });
    expect(await db.collection('messages').countDocuments({ sessionId: started.sessionId })).toBe(0);
  });
});
