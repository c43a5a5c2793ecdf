import { randomBytes, randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { DemoLlmProvider } from '../../src/llm/providers/demo-llm.provider';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

type Session = { sessionId: string; lastSeq: number };
/** What the demo model answers to a conversation of these user messages, each answered before the next. */
const demoReplies = (...said: string[]) => {
  const prompt: { role: 'user' | 'assistant'; content: string }[] = [];
  return said.map((content) => {
    prompt.push({ role: 'user', content });
    const reply = DemoLlmProvider.replyTo(prompt);
    prompt.push({ role: 'assistant', content: reply });
    return reply;
  });
};
type Message = { id: string; seq: number; sender: string; content: string; status: string; replyTo?: string };

describe('conversations over /chat', () => {
  let t: TestApp;
  const clients: ChatClient[] = [];

  const device = async (userId: string) => {
    const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: userId, name: 'Ann' }));
    clients.push(client);
    return client;
  };
  const send = (client: ChatClient, sessionId: string, content: string, clientMessageId: string = randomUUID()) =>
    client.ok<{ messageId: string; seq: number }>('message:send', { sessionId, clientMessageId, content });
  const aiEnd = (client: ChatClient, n = 1) =>
    waitFor(() => client.named('ai:end').length >= n && client.named('ai:end'), { what: `${n} ai:end` });

  beforeAll(async () => {
    t = await startTestApp({ REDIS_URL: process.env.CHATBOX_TEST_REDIS_URL, DEMO_DELTA_INTERVAL_MS: '10' });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(() => t.close());

  it('acks a send with its id and seq, and both devices of the user see the message and the whole stream', async () => {
    const user = `u-${randomUUID()}`;
    const [a, b] = [await device(user), await device(user)];
    const { sessionId } = await a.ok<Session>('session:start', {});
    await b.ok('session:resume', { sessionId, afterSeq: 0 });

    const ack = await send(a, sessionId, 'Hello there');
    expect(ack).toEqual({ messageId: expect.any(String) as string, seq: 1 });

    for (const client of [a, b]) {
      await client.waitForEvent('message:new', (m) => m.id === ack.messageId);
      expect(client.named('message:new')[0]).toMatchObject({
        id: ack.messageId,
        seq: 1,
        sessionId,
        sender: 'user',
        content: 'Hello there',
      });
    }
    const [endA] = await aiEnd(a);
    const [endB] = await aiEnd(b);
    expect(endB).toEqual(endA);
    expect(endA).toMatchObject({ sessionId, seq: 2, finishReason: 'stop', usage: { estimated: true } });
    const replyId = endA.messageId as string;
    expect(a.named('ai:start')).toEqual([{ sessionId, messageId: replyId, replyTo: ack.messageId }]);
    expect(endA.replyTo).toBe(ack.messageId);

    const { messages } = await a.ok<{ messages: Message[] }>('session:resume', { sessionId, afterSeq: 0 });
    const reply = messages.find((m) => m.id === replyId);
    expect(reply).toMatchObject({
      sender: 'ai',
      seq: 2,
      status: 'complete',
      content: demoReplies('Hello there')[0],
    });
    expect(a.streamedText(replyId)).toBe(reply?.content);
    expect(b.streamedText(replyId)).toBe(reply?.content);
  });

  it('stores one copy of a resent message and answers the resend with the same id', async () => {
    const a = await device(`u-${randomUUID()}`);
    const { sessionId } = await a.ok<Session>('session:start', {});
    const first = await send(a, sessionId, 'only once', 'client-msg-1');
    const again = await send(a, sessionId, 'only once', 'client-msg-1');
    expect(again).toEqual(first);
    await aiEnd(a);
    const { messages } = await a.ok<{ messages: Message[] }>('session:resume', { sessionId, afterSeq: 0 });
    expect(messages.filter((m) => m.sender === 'user')).toHaveLength(1);
    // Told again on the resend (devices de-duplicate by id), never as a second message.
    expect(new Set(a.named('message:new').map((m) => m.id))).toEqual(new Set([first.messageId]));
  });

  it('gives a device that dropped mid-stream every missed message exactly once when it resumes', async () => {
    const user = `u-${randomUUID()}`;
    const [a, b] = [await device(user), await device(user)];
    const { sessionId } = await a.ok<Session>('session:start', {});
    await b.ok('session:resume', { sessionId });
    const { seq } = await send(a, sessionId, 'tell me a story');
    await a.waitForEvent('ai:delta');
    a.close();
    const [end] = await aiEnd(b);

    const back = await device(user);
    const resumed = await back.ok<{ messages: Message[]; session: { lastSeq: number } }>('session:resume', {
      sessionId,
      afterSeq: seq,
    });
    expect(resumed.messages.map((m) => [m.id, m.seq, m.sender])).toEqual([[end.messageId, seq + 1, 'ai']]);
    expect(resumed.messages[0].content).toBe(b.streamedText(end.messageId as string));
    expect(resumed.session.lastSeq).toBe(seq + 1);
  });

  const turnsNeverInterleave = (client: ChatClient, ends: Record<string, unknown>[]) => {
    const turnEvents = client.events
      .filter((e) => e.event.startsWith('ai:'))
      .map((e) => [e.event, e.payload.messageId]);
    const lastOfFirst = turnEvents.findIndex(([event, id]) => event === 'ai:end' && id === ends[0].messageId);
    expect(turnEvents.slice(0, lastOfFirst + 1).every(([, id]) => id === ends[0].messageId)).toBe(true);
    expect(turnEvents.slice(lastOfFirst + 1).every(([, id]) => id === ends[1].messageId)).toBe(true);
  };

  it('answers two back-to-back messages with two turns, in order, never interleaved', async () => {
    const a = await device(`u-${randomUUID()}`);
    const { sessionId } = await a.ok<Session>('session:start', {});
    const m1 = await send(a, sessionId, 'first question');
    const m2 = await send(a, sessionId, 'second question');
    expect([m1.seq, m2.seq]).toEqual([1, 2]);
    const ends = await aiEnd(a, 2);
    turnsNeverInterleave(a, ends);
    const { messages } = await a.ok<{ messages: Message[] }>('session:resume', { sessionId });
    expect(messages.filter((m) => m.sender === 'ai').map((r) => r.content)).toEqual(
      demoReplies('first question', 'second question'),
    );
  });

  it('answers each of two concurrent sends exactly once, one turn at a time', async () => {
    const a = await device(`u-${randomUUID()}`);
    const { sessionId } = await a.ok<Session>('session:start', {});
    const acks = await Promise.all([send(a, sessionId, 'left'), send(a, sessionId, 'right')]);
    expect(acks.map((m) => m.seq).sort()).toEqual([1, 2]);
    const ends = await aiEnd(a, 2);
    turnsNeverInterleave(a, ends);
    const { messages } = await a.ok<{ messages: Message[] }>('session:resume', { sessionId });
    const replies = messages.filter((m) => m.sender === 'ai').map((r) => r.content);
    // Whichever became visible first was answered first, and the second reply saw it and its answer.
    expect([demoReplies('left', 'right'), demoReplies('right', 'left')]).toContainEqual(replies);
  });

  it('stops a reply on message:stop and keeps the partial text as stopped', async () => {
    const a = await device(`u-${randomUUID()}`);
    const { sessionId } = await a.ok<Session>('session:start', {});
    await send(a, sessionId, 'a long answer please');
    const delta = await a.waitForEvent('ai:delta');
    await a.ok('message:stop', { sessionId });
    const [end] = await aiEnd(a);
    expect(end).toMatchObject({ messageId: delta.messageId, finishReason: 'stopped' });
    const { messages } = await a.ok<{ messages: Message[] }>('session:resume', { sessionId });
    const reply = messages.find((m) => m.id === end.messageId);
    expect(reply?.status).toBe('stopped');
    expect(reply?.content).toBe(a.streamedText(end.messageId as string));
    expect(reply?.content.length).toBeLessThan(demoReplies('a long answer please')[0].length);
  });

  it('keeps one active session per user: starting again ends the previous one, and sends to it are refused', async () => {
    const user = `u-${randomUUID()}`;
    const [a, b] = [await device(user), await device(user)];
    const first = await a.ok<Session>('session:start', {});
    const second = await b.ok<Session>('session:start', {});
    await a.waitForEvent('session:state', (s) => s.id === first.sessionId && s.status === 'ended');
    const refused = await a.call('message:send', { sessionId: first.sessionId, clientMessageId: 'x1', content: 'hi' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'session_ended', recoverable: false } });
    expect(second.sessionId).not.toBe(first.sessionId);
    expect(await a.ok('session:end', { sessionId: second.sessionId })).toMatchObject({ status: 'ended' });
    expect(await a.ok('session:end', { sessionId: second.sessionId })).toMatchObject({ status: 'ended' });
  });

  it("does not let a user resume or write to another user's session", async () => {
    const owner = await device(`u-${randomUUID()}`);
    const intruder = await device(`u-${randomUUID()}`);
    const { sessionId } = await owner.ok<Session>('session:start', {});
    expect(await intruder.call('session:resume', { sessionId })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
    expect(await intruder.call('message:send', { sessionId, clientMessageId: 'x', content: 'hi' })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
  });

  it('answers busy when more messages wait than the queue allows, and stores nothing for them', async () => {
    const q = await startTestApp({ TURN_QUEUE_LIMIT: '0', DEMO_DELTA_INTERVAL_MS: '50' });
    try {
      const a = await ChatClient.connect(q.baseUrl, await signToken(q.env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
      clients.push(a);
      const { sessionId } = await a.ok<Session>('session:start', {});
      await a.ok('message:send', { sessionId, clientMessageId: 'q1', content: 'first' });
      await a.waitForEvent('ai:delta');
      const refused = await a.call('message:send', { sessionId, clientMessageId: 'q2', content: 'too soon' });
      expect(refused).toMatchObject({ ok: false, error: { code: 'busy', recoverable: true } });
      await waitFor(() => a.named('ai:end').length === 1, { what: 'the first reply' });
      const { messages } = await a.ok<{ messages: Message[] }>('session:resume', { sessionId });
      expect(messages.map((m) => m.content)).not.toContain('too soon');
      expect(await a.ok('message:send', { sessionId, clientMessageId: 'q3', content: 'now' })).toMatchObject({
        seq: 3,
      });
    } finally {
      await q.close();
    }
  });

  it('keeps a reply cut by shutdown as interrupted, tells the device before closing, and answers again elsewhere', async () => {
    const same = { MONGODB_URI: t.env.MONGODB_URI, JWT_SECRET: t.env.JWT_SECRET, ENCRYPTION_KEY: t.env.ENCRYPTION_KEY };
    const s = await startTestApp({ ...same, DEMO_DELTA_INTERVAL_MS: '50' });
    const user = `u-${randomUUID()}`;
    const a = await ChatClient.connect(s.baseUrl, await signToken(s.env.JWT_SECRET, { sub: user }));
    clients.push(a);
    const { sessionId } = await a.ok<Session>('session:start', {});
    const sent = await a.ok<{ messageId: string }>('message:send', {
      sessionId,
      clientMessageId: 'cut',
      content: 'a story that will be cut',
    });
    const { messageId } = await a.waitForEvent('ai:delta');
    await s.close();
    // The turn ended before the socket server closed, so the device heard it.
    expect(a.named('ai:error')).toEqual([
      expect.objectContaining({
        messageId,
        replyTo: sent.messageId,
        error: expect.objectContaining({ code: 'interrupted', recoverable: true }) as unknown,
      }),
    ]);

    // Back on another replica, the cut message is answered again.
    const b = await device(user);
    await b.ok('session:resume', { sessionId });
    const end = await b.waitForEvent('ai:end');
    const { messages } = await b.ok<{ messages: Message[] }>('session:resume', { sessionId });
    const cut = messages.find((m) => m.id === messageId);
    expect(cut).toMatchObject({ status: 'interrupted', replyTo: sent.messageId });
    expect(cut?.content).toBe(a.streamedText(messageId as string));
    expect(cut?.content).not.toBe('');
    expect(messages.find((m) => m.id === end.messageId)).toMatchObject({
      status: 'complete',
      replyTo: sent.messageId,
      content: demoReplies('a story that will be cut')[0],
    });
  });

  it('keeps the partial reply when the session is ended mid-stream', async () => {
    const e = await startTestApp({
      DEMO_DELTA_INTERVAL_MS: '40',
      MONGODB_URI: t.env.MONGODB_URI,
      JWT_SECRET: t.env.JWT_SECRET,
      ENCRYPTION_KEY: t.env.ENCRYPTION_KEY,
    });
    try {
      const a = await ChatClient.connect(e.baseUrl, await signToken(e.env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
      clients.push(a);
      const { sessionId } = await a.ok<Session>('session:start', {});
      await a.ok('message:send', { sessionId, clientMessageId: 'e1', content: 'end me midway' });
      const { messageId } = await a.waitForEvent('ai:delta');
      await a.ok('session:end', { sessionId });
      expect(await a.waitForEvent('ai:end')).toMatchObject({ messageId, finishReason: 'session_ended' });
      const { messages, session } = await a.ok<{ messages: Message[]; session: { status: string } }>('session:resume', {
        sessionId,
      });
      expect(session.status).toBe('ended');
      expect(messages.find((m) => m.id === messageId)).toMatchObject({
        status: 'stopped',
        content: a.streamedText(messageId as string),
      });
      expect(
        await a.call('message:send', { sessionId, clientMessageId: 'e2', content: 'after the end' }),
      ).toMatchObject({ ok: false, error: { code: 'session_ended' } });
    } finally {
      await e.close();
    }
  });

  it('answers the cut and the queued message after a replica shut down gracefully, once a device is back', async () => {
    const same = { MONGODB_URI: t.env.MONGODB_URI, JWT_SECRET: t.env.JWT_SECRET, ENCRYPTION_KEY: t.env.ENCRYPTION_KEY };
    const first = await startTestApp({ ...same, DEMO_DELTA_INTERVAL_MS: '40' });
    const user = `u-${randomUUID()}`;
    const a = await ChatClient.connect(first.baseUrl, await signToken(t.env.JWT_SECRET, { sub: user }));
    clients.push(a);
    const { sessionId } = await a.ok<Session>('session:start', {});
    await a.ok('message:send', { sessionId, clientMessageId: 'r1', content: 'first, cut by the restart' });
    await a.ok('message:send', { sessionId, clientMessageId: 'r2', content: 'second, still queued' });
    await a.waitForEvent('ai:delta');
    await first.close();

    const second = await startTestApp({ ...same, DEMO_DELTA_INTERVAL_MS: '0', SESSION_SWEEP_INTERVAL_MS: '100' });
    try {
      const b = await ChatClient.connect(second.baseUrl, await signToken(t.env.JWT_SECRET, { sub: user }));
      clients.push(b);
      await b.ok('session:resume', { sessionId });
      await waitFor(() => b.named('ai:end').length === 2, { what: 'both messages answered' });
      const { messages } = await b.ok<{ messages: Message[] }>('session:resume', { sessionId });
      expect(messages.map((m) => [m.sender, m.status])).toEqual([
        ['user', 'complete'],
        ['user', 'complete'],
        ['ai', 'interrupted'],
        ['ai', 'complete'],
        ['ai', 'complete'],
      ]);
      expect(messages.slice(2).map((m) => m.replyTo)).toEqual([messages[0].id, messages[0].id, messages[1].id]);
      expect(messages.slice(3).map((m) => m.content)).toEqual(
        demoReplies('first, cut by the restart', 'second, still queued'),
      );
    } finally {
      await second.close();
    }
  });

  it('stores no plaintext: content and names are AES-GCM values naming their key', async () => {
    const a = await device(`u-${randomUUID()}`);
    const { sessionId } = await a.ok<Session>('session:start', {});
    const secret = `plaintext-${randomBytes(6).toString('hex')}`;
    await send(a, sessionId, secret);
    await aiEnd(a);
    const connection = await mongoose.createConnection(t.env.MONGODB_URI).asPromise();
    try {
      const messages = await connection.collection('messages').find({ sessionId }).toArray();
      const session = await connection.collection('chat_sessions').findOne({ _id: sessionId as never });
      expect(messages).toHaveLength(2);
      for (const value of [...messages.map((m) => m.content as string), session?.name as string]) {
        expect(value).toMatch(/^v1:k1:[A-Za-z0-9+/]+=*$/);
        expect(value).not.toContain(secret);
      }
    } finally {
      await connection.close();
    }
  });
});
