import { randomUUID } from 'node:crypto';
import { AdminClient } from '../utils/admin-client';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

interface Help {
  requestedAt: string;
  source: string;
  reason: string | null;
}
interface SessionAck {
  sessionId: string;
  status: string;
  owner: string;
  help: Help | null;
}
interface Message {
  id: string;
  seq: number;
  sender: string;
  content: string;
}

describe('help requests', () => {
  let t: TestApp;
  const clients: { close(): void }[] = [];

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(() => t.close());

  const user = async (userId = `u-${randomUUID()}`) => {
    const token = await signToken(t.env.JWT_SECRET, { sub: userId });
    const client = await ChatClient.connect(t.baseUrl, token);
    clients.push(client);
    return { client, token, userId };
  };
  const transcript = async (client: ChatClient, sessionId: string) =>
    (await client.ok<{ messages: Message[] }>('session:resume', { sessionId })).messages;
  const helpMetric = async (source: string) => {
    const res = await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${t.env.METRICS_TOKEN}` } });
    const line = (await res.text())
      .split('\n')
      .find((l) => l.startsWith(`chatbox_help_requests_total{source="${source}"}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  it('persists a request on the session with a system marker, and tells every device of the user', async () => {
    const { client, token } = await user();
    const { sessionId } = await client.ok<SessionAck>('session:start', {});
    // Connected after the start and never joined to the session: told as a device of the user.
    const other = await ChatClient.connect(t.baseUrl, token);
    clients.push(other);
    const before = await helpMetric('user');

    const ack = await client.ok<SessionAck>('help:request', { sessionId, reason: '  my card was charged twice ' });
    expect(ack).toMatchObject({
      sessionId,
      status: 'active',
      owner: 'ai',
      help: { source: 'user', reason: 'my card was charged twice', requestedAt: expect.any(String) as string },
    });
    const state = await other.waitForEvent('session:state', (p) => p.help !== null && p.id === sessionId);
    expect(state.help).toEqual(ack.help);
    const marker = await other.waitForEvent('message:new', (p) => p.sender === 'system');
    expect(marker).toMatchObject({ sessionId, content: 'The user asked for a human: my card was charged twice' });

    // Stored: a fresh read of the session and its transcript show both, and the counter moved once.
    const { session } = await other.ok<{ session: SessionAck }>('session:resume', { sessionId });
    expect(session.help).toEqual(ack.help);
    expect((await transcript(other, sessionId)).filter((m) => m.sender === 'system')).toEqual([
      expect.objectContaining({ id: marker.id, content: marker.content }),
    ]);
    expect(await helpMetric('user')).toBe(before + 1);
  });

  it('is shown to a connected admin at once, and in the queue an admin gets on connect', async () => {
    const adminToken = await signToken(t.env.JWT_SECRET, { sub: `a-${randomUUID()}`, roles: ['admin'] });
    const connect = () => {
      const admin = new AdminClient(t.baseUrl, adminToken);
      clients.push(admin);
      return admin.events;
    };
    const watching = connect();
    await waitFor(() => watching.some((e) => e.event === 'admin:sessions'), { what: 'the queue' });
    const { client } = await user();
    const { sessionId } = await client.ok<SessionAck>('help:request', { reason: 'billing' });
    const told = await waitFor(
      () => watching.find((e) => e.event === 'admin:session' && e.payload.id === sessionId && e.payload.help),
      { what: 'the request told to the admin' },
    );
    expect(told.payload).toMatchObject({ status: 'active', removed: false, help: { reason: 'billing' } });

    const later = connect();
    const snapshot = await waitFor(() => later.find((e) => e.event === 'admin:sessions'), { what: 'the queue' });
    expect((snapshot.payload.sessions as { id: string; help: unknown }[])[0]).toMatchObject({
      id: sessionId,
      help: { reason: 'billing' },
    });
  });

  it('is idempotent while a request is open: the same request, one marker, counted once', async () => {
    const { client } = await user();
    const { sessionId } = await client.ok<SessionAck>('session:start', {});
    const before = await helpMetric('user');
    const first = await client.ok<SessionAck>('help:request', { sessionId, reason: 'first' });
    const again = await Promise.all([
      client.ok<SessionAck>('help:request', { sessionId, reason: 'second' }),
      client.ok<SessionAck>('help:request', { sessionId }),
    ]);
    for (const ack of again) expect(ack.help).toEqual(first.help);
    expect((await transcript(client, sessionId)).filter((m) => m.sender === 'system')).toHaveLength(1);
    expect(await helpMetric('user')).toBe(before + 1);
  });

  it('starts a session for a user who asks before writing anything, and joins the asking device to it', async () => {
    const { client, userId } = await user();
    const ack = await client.ok<SessionAck>('help:request', {});
    expect(ack).toMatchObject({ status: 'active', help: { source: 'user', reason: null } });
    // The asking device is in the new session's room: a message another device sends there reaches it.
    const writer = await user(userId);
    await writer.client.ok('message:send', { sessionId: ack.sessionId, clientMessageId: 'c1', content: 'hello' });
    await client.waitForEvent('message:new', (p) => p.sender === 'user' && p.sessionId === ack.sessionId);
    const res = await fetch(`${t.baseUrl}/chatbox/sessions`, {
      headers: { authorization: `Bearer ${await signToken(t.env.JWT_SECRET, { sub: userId })}` },
    });
    const { sessions } = (await res.json()) as { sessions: { id: string; status: string }[] };
    expect(sessions.map((s) => s.id)).toEqual([ack.sessionId]);

    // With an active session, a request without an id goes to that one.
    const second = await user(userId);
    const { sessionId } = await second.client.ok<SessionAck>('help:request', {});
    expect(sessionId).toBe(ack.sessionId);
  });

  it('gives two devices asking at once without a session one session between them, and ends none', async () => {
    const { client, userId } = await user();
    const second = await user(userId);
    const [a, b] = await Promise.all([
      client.ok<SessionAck>('help:request', {}),
      second.client.ok<SessionAck>('help:request', {}),
    ]);
    expect(b.sessionId).toBe(a.sessionId);
    expect(a.status).toBe('active');
    expect(
      (await client.ok<{ session: SessionAck }>('session:resume', { sessionId: a.sessionId })).session.status,
    ).toBe('active');
  });

  it('is withdrawn by help:cancel with a marker; a later request opens a new one', async () => {
    const { client } = await user();
    const { sessionId } = await client.ok<SessionAck>('session:start', {});
    const opened = await client.ok<SessionAck>('help:request', { sessionId, reason: 'one' });
    const cancelled = await client.ok<SessionAck>('help:cancel', { sessionId });
    expect(cancelled.help).toBeNull();
    expect((await client.ok<SessionAck>('help:cancel', { sessionId })).help).toBeNull();
    const reopened = await client.ok<SessionAck>('help:request', { sessionId, reason: 'two' });
    expect(reopened.help).toMatchObject({ reason: 'two' });
    expect(reopened.help?.requestedAt).not.toBe(opened.help?.requestedAt);
    expect((await transcript(client, sessionId)).filter((m) => m.sender === 'system').map((m) => m.content)).toEqual([
      'The user asked for a human: one',
      'The request for a human was withdrawn',
      'The user asked for a human: two',
    ]);
  });

  it('closes the request when the session ends: no help shown, nothing more to withdraw', async () => {
    const { client } = await user();
    const { sessionId } = await client.ok<SessionAck>('session:start', {});
    await client.ok('help:request', { sessionId });
    const ended = await client.ok<SessionAck>('session:end', { sessionId });
    expect(ended).toMatchObject({ status: 'ended', help: null });
    expect((await client.ok<SessionAck>('help:cancel', { sessionId })).help).toBeNull();
    expect((await transcript(client, sessionId)).filter((m) => m.sender === 'system')).toHaveLength(1);
  });

  it('keeps the AI answering while a request waits, and leaves markers out of its prompt', async () => {
    const { client } = await user();
    const { sessionId } = await client.ok<SessionAck>('session:start', {});
    await client.ok('help:request', { sessionId, reason: 'please' });
    await client.ok('message:send', { sessionId, clientMessageId: 'm1', content: 'are you there?' });
    const end = await client.waitForEvent('ai:end');
    const reply = (await transcript(client, sessionId)).find((m) => m.id === end.messageId);
    // The demo model says how many messages it was given: the user's one, not the marker.
    expect(reply?.content).toContain('I saw 1 message of our conversation.');
  });

  it("refuses another user's session, an ended one, and a bad reason, with clear codes", async () => {
    const owner = await user();
    const stranger = await user();
    const { sessionId } = await owner.client.ok<SessionAck>('session:start', {});
    expect(await stranger.client.call('help:request', { sessionId })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
    expect(await stranger.client.call('help:cancel', { sessionId })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
    for (const reason of ['', '   ', 'x'.repeat(501), 42, 'a\uD800b']) {
      expect(await owner.client.call('help:request', { sessionId, reason })).toMatchObject({
        ok: false,
        error: { code: 'invalid_payload' },
      });
    }
    expect(await owner.client.call('help:request', { sessionId: 'not-a-uuid' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_payload' },
    });
    await owner.client.ok('session:end', { sessionId });
    expect(await owner.client.call('help:request', { sessionId })).toMatchObject({
      ok: false,
      error: { code: 'session_ended' },
    });
  });
});
