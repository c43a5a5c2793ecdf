import { randomUUID } from 'node:crypto';
import mongoose, { Connection } from 'mongoose';
import { TakeoverService } from '../../src/admin/takeover.service';
import { verifyAuditChain } from '../../src/audit/verify-audit-chain';
import { HUMAN_AGENT_NOTE } from '../../src/llm/prompt-builder';
import { FakeLlmServer } from '../servers/fake-llm-server';
import { AdminClient } from '../utils/admin-client';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

interface Message {
  id: string;
  seq: number;
  sender: string;
  senderName?: string;
  content: string;
  status: string;
  replyTo?: string;
}
interface SessionState {
  id: string;
  owner: string;
  epoch: number;
  holder: { id: string; name: string | null } | null;
  help: unknown;
  assisted: boolean;
}
type Watched = { session: SessionState; messages: Message[]; inFlight: { messageId: string; index: number } | null };

describe('human takeover, in one process', () => {
  const fake = new FakeLlmServer();
  let t: TestApp;
  let db: Connection;
  const clients: { close(): void }[] = [];

  beforeAll(async () => {
    await fake.start();
    t = await startTestApp({
      LLM_MODELS: JSON.stringify([
        { id: 'gpt', provider: 'openai', model: 'gpt-fake', baseUrl: `${fake.baseUrl}/v1`, apiKey: 'k' },
      ]),
      REDIS_URL: process.env.CHATBOX_TEST_REDIS_URL,
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

  const user = async (userId = `u-${randomUUID()}`) => {
    const token = await signToken(t.env.JWT_SECRET, { sub: userId, name: 'Uma' });
    const client = await ChatClient.connect(t.baseUrl, token);
    clients.push(client);
    return { client, token, userId };
  };
  const admin = async (name = 'Ann', id = `a-${randomUUID()}`) => {
    const client = new AdminClient(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: id, name, roles: ['admin'] }));
    clients.push(client);
    await client.connected();
    return Object.assign(client, { id, name });
  };
  const send = (client: ChatClient, sessionId: string, content: string) =>
    client.ok<{ messageId: string; seq: number }>('message:send', {
      sessionId,
      clientMessageId: randomUUID(),
      content,
    });
  const say = (client: AdminClient, sessionId: string, content: string) =>
    client.ok<{ messageId: string; seq: number }>('admin:message', {
      sessionId,
      clientMessageId: randomUUID(),
      content,
    });
  const transcript = async (client: ChatClient, sessionId: string) =>
    (await client.ok<{ messages: Message[] }>('session:resume', { sessionId })).messages;
  const metric = async (name: string) => {
    const res = await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${t.env.METRICS_TOKEN}` } });
    const lines = (await res.text()).split('\n').filter((l) => l.startsWith(name));
    return lines.reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
  };
  /** A session the AI has answered once, with the reply stored. */
  const conversation = async () => {
    const u = await user();
    const { sessionId } = await u.client.ok<{ sessionId: string }>('session:start', {});
    const { messageId } = await send(u.client, sessionId, 'my order is late');
    await u.client.waitForEvent('ai:end', (e) => e.replyTo === messageId);
    return { ...u, sessionId };
  };

  it('lets a watching admin see messages and deltas as the user does, with the reply in flight on watch', async () => {
    const { client, sessionId } = await conversation();
    fake.script('openai', { kind: 'endless', intervalMs: 20 });
    const { messageId } = await send(client, sessionId, 'tell me a long story');
    const start = await client.waitForEvent('ai:start', (e) => e.replyTo === messageId);
    await client.waitForEvent('ai:delta', (e) => e.messageId === start.messageId);

    const watcher = await admin('Wes');
    const watched = await watcher.ok<Watched>('admin:watch', { sessionId });
    expect(watched.inFlight).toMatchObject({ messageId: start.messageId });
    expect(watched.session).toMatchObject({ id: sessionId, owner: 'ai' });
    expect(watched.messages.map((m) => m.id)).toContain(messageId);
    const inFlightIndex = watched.inFlight?.index ?? -1;
    await watcher.waitForEvent(
      'ai:delta',
      (e) => e.messageId === start.messageId && (e.index as number) > inFlightIndex,
    );
    const { messageId: next } = await send(client, sessionId, 'still there?');
    await watcher.waitForEvent('message:new', (e) => e.id === next);

    // Watching is not holding: it cannot write into the session.
    const refused = await watcher.call('admin:message', { sessionId, clientMessageId: 'w1', content: 'hi' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    await watcher.ok('admin:unwatch', { sessionId });
    await client.ok('message:stop', { sessionId });
  });

  it('takes a session over: the reply streaming is cut, the user is told, and the help request answered', async () => {
    const { client, token, sessionId } = await conversation();
    const second = await ChatClient.connect(t.baseUrl, token);
    clients.push(second);
    await second.ok('session:resume', { sessionId });
    await client.ok('help:request', { sessionId, reason: 'I want a person' });
    fake.script('openai', { kind: 'endless', intervalMs: 20 });
    const { messageId } = await send(client, sessionId, 'tell me a long story');
    const start = await client.waitForEvent('ai:start', (e) => e.replyTo === messageId);
    await client.waitForEvent('ai:delta', (e) => e.messageId === start.messageId);
    const [takeovers, pickups, cut] = await Promise.all([
      metric('chatbox_takeovers_total'),
      metric('chatbox_help_pickup_seconds_count'),
      metric('chatbox_ai_turns_taken_over_total'),
    ]);

    const ann = await admin('Ann');
    const joined = await ann.ok<SessionState>('admin:join', { sessionId });
    expect(joined).toMatchObject({ owner: `admin:${ann.id}`, holder: { id: ann.id, name: 'Ann' }, help: null });

    const error = await client.waitForEvent('ai:error', (e) => e.messageId === start.messageId);
    expect(error).toMatchObject({ error: { code: 'interrupted' } });
    for (const device of [client, second]) {
      await device.waitForEvent('admin:joined', (e) => e.sessionId === sessionId);
      expect(device.named('admin:joined').at(-1)).toEqual({ sessionId, adminId: ann.id, adminName: 'Ann' });
    }
    const stored = await db.collection('messages').findOne({ _id: start.messageId as never });
    expect(stored).toMatchObject({ status: 'interrupted', finishReason: 'owner_changed' });
    const messages = await transcript(client, sessionId);
    expect(messages.at(-1)).toMatchObject({ sender: 'system', content: 'Ann joined the conversation' });
    expect(await metric('chatbox_takeovers_total')).toBe(takeovers + 1);
    expect(await metric('chatbox_help_pickup_seconds_count')).toBe(pickups + 1);
    expect(await metric('chatbox_ai_turns_taken_over_total')).toBe(cut + 1);

    // Joining again is answered the same; the session is still Ann's.
    expect(await ann.ok<SessionState>('admin:join', { sessionId })).toMatchObject({ owner: `admin:${ann.id}` });
  });

  it("sends the user's messages to the holder, not the AI, and the holder's replies to every user device", async () => {
    const { client, token, sessionId } = await conversation();
    const second = await ChatClient.connect(t.baseUrl, token);
    clients.push(second);
    await second.ok('session:resume', { sessionId });
    const ann = await admin('Ann');
    await ann.ok('admin:join', { sessionId });
    const asked = fake.of('openai').length;

    const { messageId } = await send(client, sessionId, 'are you a person?');
    await ann.waitForEvent('message:new', (e) => e.id === messageId);
    await client.ok('typing', { sessionId, isTyping: true });
    await ann.waitForEvent('typing', (e) => e.sessionId === sessionId && e.sender === 'user');
    await ann.ok('admin:typing', { sessionId, isTyping: true });
    await second.waitForEvent('typing', (e) => e.sender === 'admin' && e.name === 'Ann');
    const reply = await say(ann, sessionId, 'Yes, I am Ann from support.');
    for (const device of [client, second]) {
      expect(await device.waitForEvent('message:new', (e) => e.id === reply.messageId)).toMatchObject({
        sender: 'admin',
        senderId: ann.id,
        senderName: 'Ann',
        content: 'Yes, I am Ann from support.',
        seq: reply.seq,
      });
    }
    expect(await db.collection('messages').findOne({ _id: messageId as never })).toMatchObject({ answered: true });
    expect(client.named('ai:start').filter((e) => e.replyTo === messageId)).toHaveLength(0);
    expect(fake.of('openai')).toHaveLength(asked);
  });

  it('refuses an admin message that is too long, blank or resent under a used id only as the stored copy', async () => {
    const { sessionId } = await conversation();
    const ann = await admin('Ann');
    await ann.ok('admin:join', { sessionId });
    const tooLong = await ann.call('admin:message', { sessionId, clientMessageId: 'x1', content: 'x'.repeat(10001) });
    expect(tooLong).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    const blank = await ann.call('admin:message', { sessionId, clientMessageId: 'x2', content: ' \u200b ' });
    expect(blank).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    const first = await ann.ok('admin:message', { sessionId, clientMessageId: 'x3', content: 'once' });
    expect(await ann.ok('admin:message', { sessionId, clientMessageId: 'x3', content: 'once' })).toEqual(first);
    expect(await db.collection('messages').countDocuments({ sessionId, sender: 'admin' })).toBe(1);
  });

  it("hands back on admin:leave: the AI's next prompt holds the human's replies, and what was sent meanwhile stays unanswered by it", async () => {
    const { client, sessionId } = await conversation();
    const ann = await admin('Ann');
    await ann.ok('admin:join', { sessionId });
    const { messageId: during } = await send(client, sessionId, 'I was double charged');
    await ann.waitForEvent('message:new', (e) => e.id === during);
    await say(ann, sessionId, 'I refunded the second charge.');
    const left = await ann.ok<SessionState>('admin:leave', { sessionId });
    expect(left).toMatchObject({ owner: 'ai', holder: null, assisted: true });
    expect(await client.waitForEvent('admin:left', (e) => e.sessionId === sessionId)).toEqual({
      sessionId,
      adminId: ann.id,
      adminName: 'Ann',
      reason: 'admin_left',
    });

    const asked = fake.of('openai').length;
    fake.script('openai', { kind: 'ok', text: 'Glad that is sorted.' });
    const { messageId: after } = await send(client, sessionId, 'thanks, and the invoice?');
    await client.waitForEvent('ai:end', (e) => e.replyTo === after);
    expect(fake.of('openai')).toHaveLength(asked + 1);
    const prompt = fake.of('openai')[asked].body.messages as { role: string; content: string }[];
    expect(prompt).toContainEqual({ role: 'system', content: HUMAN_AGENT_NOTE });
    expect(prompt).toContainEqual({ role: 'user', content: 'I was double charged' });
    expect(prompt).toContainEqual({ role: 'assistant', content: '[Human agent Ann] I refunded the second charge.' });
    expect(prompt.at(-1)).toEqual({ role: 'user', content: 'thanks, and the invoice?' });

    const messages = await transcript(client, sessionId);
    expect(messages.filter((m) => m.replyTo === during)).toHaveLength(0);
    expect(messages.filter((m) => m.sender === 'system').map((m) => m.content)).toEqual([
      'Ann joined the conversation',
      'The human agent left the conversation; the assistant answers again',
    ]);
  });

  it('gives session_taken naming the holder to a second admin, and lets only the holder leave', async () => {
    const { client, sessionId } = await conversation();
    const ann = await admin('Ann');
    const bob = await admin('Bob');
    await ann.ok('admin:join', { sessionId });
    expect(await bob.call('admin:join', { sessionId })).toMatchObject({
      ok: false,
      error: { code: 'session_taken', holder: { id: ann.id, name: 'Ann' }, recoverable: false },
    });
    expect(await bob.call('admin:leave', { sessionId })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    // Refused, Bob is not left listening to the session.
    const { messageId } = await send(client, sessionId, 'hello?');
    await ann.waitForEvent('message:new', (e) => e.id === messageId);
    expect(bob.named('message:new')).toEqual([]);
    expect(await bob.call('admin:join', { sessionId: randomUUID() })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
  });

  it('finishes a hand-back whose first attempt stopped after recording it, when asked again', async () => {
    const { client, sessionId } = await conversation();
    const ann = await admin('Ann');
    const { epoch } = await ann.ok<SessionState>('admin:join', { sessionId });
    // What a replica that died right after recording the release leaves: the change, nothing else.
    await db.collection('owner_changes').insertOne({
      _id: `${sessionId}:${epoch + 1}`,
      sessionId,
      epoch: epoch + 1,
      owner: 'ai',
      previousOwner: `admin:${ann.id}`,
      previousOwnerName: 'Ann',
      cause: 'admin_left',
      actor: `admin:${ann.id}`,
      at: new Date(),
    } as never);
    expect(await ann.ok<SessionState>('admin:leave', { sessionId })).toMatchObject({ owner: 'ai', epoch: epoch + 1 });
    expect(await client.waitForEvent('admin:left', (e) => e.sessionId === sessionId)).toMatchObject({
      adminName: 'Ann',
      reason: 'admin_left',
    });
    const messages = await transcript(client, sessionId);
    expect(messages.at(-1)).toMatchObject({
      sender: 'system',
      content: 'The human agent left the conversation; the assistant answers again',
    });
  });

  it('releases over REST for any admin, and refuses a user token', async () => {
    const { client, token, sessionId } = await conversation();
    const ann = await admin('Ann');
    await ann.ok('admin:join', { sessionId });
    const url = `${t.baseUrl}/chatbox/admin/sessions/${sessionId}/release`;
    const asUser = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(asUser.status).toBe(403);
    expect(await asUser.json()).toMatchObject({ code: 'forbidden' });

    const bobToken = await signToken(t.env.JWT_SECRET, { sub: 'a-bob', name: 'Bob', roles: ['admin'] });
    const releases = await metric('chatbox_releases_total{cause="released"}');
    const released = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${bobToken}` } });
    expect(released.status).toBe(200);
    expect(await released.json()).toMatchObject({ id: sessionId, owner: 'ai', holder: null });
    expect(await client.waitForEvent('admin:left', (e) => e.sessionId === sessionId)).toMatchObject({
      adminId: ann.id,
      reason: 'released',
    });
    const again = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${bobToken}` } });
    expect(await again.json()).toMatchObject({ owner: 'ai', epoch: 2 });
    // Counted once, by cause, however often it was asked for.
    expect(await metric('chatbox_releases_total{cause="released"}')).toBe(releases + 1);
  });

  it('counts the distinct admins connected to the replica', async () => {
    // The admins of earlier tests are closed; their disconnects may still be on their way.
    await waitFor(async () => (await metric('chatbox_admins_connected')) === 0, { what: 'no admin connected' });
    const first = await admin('Ann');
    const sameAdmin = new AdminClient(
      t.baseUrl,
      await signToken(t.env.JWT_SECRET, { sub: first.id, name: 'Ann', roles: ['admin'] }),
    );
    clients.push(sameAdmin);
    await sameAdmin.connected();
    await admin('Bob');
    expect(await metric('chatbox_admins_connected')).toBe(2);
  });

  it('hands back a session whose holder wrote nothing for ADMIN_IDLE_RELEASE_MS, and tells the user', async () => {
    const { client, sessionId } = await conversation();
    const ann = await admin('Ann');
    await ann.ok('admin:join', { sessionId });
    const takeover = t.app.get(TakeoverService);
    const lastWrote = (msAgo: number) =>
      db
        .collection('chat_sessions')
        .updateOne({ _id: sessionId as never }, { $set: { 'hold.wroteAt': new Date(Date.now() - msAgo) } });
    // Connected all along (seen), and quiet for less than the limit: kept; for longer: handed back.
    await lastWrote(899000);
    expect(await takeover.releaseAbandoned()).not.toContain(sessionId);
    await lastWrote(901000);
    expect(await takeover.releaseAbandoned()).toContain(sessionId);
    expect(await client.waitForEvent('admin:left', (e) => e.sessionId === sessionId)).toMatchObject({
      adminId: ann.id,
      reason: 'admin_idle',
    });
  });

  it('refuses admin events from a user on /chat, leaving the session with the AI', async () => {
    const { client, sessionId } = await conversation();
    for (const event of ['admin:join', 'admin:message', 'admin:watch']) {
      const ack = await client.call(event, { sessionId, clientMessageId: 'u1', content: 'I am the admin now' });
      expect(ack).toMatchObject({ ok: false, error: { code: 'unknown_event' } });
    }
    const { session } = await client.ok<{ session: SessionState }>('session:resume', { sessionId });
    expect(session).toMatchObject({ owner: 'ai', epoch: 0, holder: null });
  });

  it('audits takeovers, releases and watches in a chain that a changed record breaks', async () => {
    const { sessionId } = await conversation();
    const ann = await admin('Ann');
    await ann.ok('admin:watch', { sessionId });
    await ann.ok('admin:join', { sessionId });
    await ann.ok('admin:leave', { sessionId });
    const audit = db.getClient().db(db.name).collection('audit');
    const records = await audit.find({ sessionId }).sort({ _id: 1 }).toArray();
    expect(records.map((r) => [r.action as string, r.actor as unknown])).toEqual([
      ['watch', { kind: 'admin', id: ann.id, name: 'Ann' }],
      ['takeover', { kind: 'admin', id: ann.id, name: 'Ann' }],
      ['release', { kind: 'admin', id: ann.id, name: 'Ann' }],
    ]);
    expect(records[2].details).toMatchObject({ cause: 'admin_left', holder: ann.id });
    expect(records.every((r) => typeof r.requestId === 'string' && r.requestId.length > 0)).toBe(true);
    expect(await verifyAuditChain(audit)).toMatchObject({ ok: true });

    await audit.updateOne({ _id: records[1]._id }, { $set: { 'actor.id': 'someone-else' } });
    const report = await verifyAuditChain(audit);
    expect(report.ok).toBe(false);
    expect(report.problems).toContainEqual(expect.objectContaining({ seq: records[1]._id, kind: 'hash_mismatch' }));
    await audit.updateOne({ _id: records[1]._id }, { $set: { 'actor.id': ann.id } });
    await waitFor(async () => (await verifyAuditChain(audit)).ok, { what: 'the chain to hold again' });
  });
});
