import { randomUUID } from 'node:crypto';
import mongoose, { Connection } from 'mongoose';
import { AuditService } from '../../src/audit/audit.service';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';

interface AuditDoc {
  _id: number;
  action: string;
  actor: { kind: string; id: string; name?: string };
  sessionId: string;
  details?: Record<string, unknown>;
}

describe('the admin REST routes of one session', () => {
  let t: TestApp;
  let db: Connection;
  const clients: ChatClient[] = [];
  const adminId = `a-${randomUUID()}`;
  let adminAuth: Record<string, string>;

  beforeAll(async () => {
    t = await startTestApp({ DEMO_DELTA_INTERVAL_MS: '0' });
    db = await mongoose.createConnection(t.env.MONGODB_URI).asPromise();
    adminAuth = {
      authorization: `Bearer ${await signToken(t.env.JWT_SECRET, { sub: adminId, name: 'Ann', roles: ['admin'] })}`,
    };
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await db.close();
    await t.close();
  });

  const audit = (sessionId: string) => db.collection<AuditDoc>('audit').find({ sessionId }).sort({ _id: 1 }).toArray();
  /** A user's session with one exchange in it. */
  const conversation = async () => {
    const token = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` });
    const client = await ChatClient.connect(t.baseUrl, token);
    clients.push(client);
    const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
    const { messageId } = await client.ok<{ messageId: string }>('message:send', {
      sessionId,
      clientMessageId: randomUUID(),
      content: 'hello there',
    });
    await client.waitForEvent('ai:end', (e) => e.replyTo === messageId);
    return { client, token, sessionId };
  };
  const call = (method: string, path: string, headers: Record<string, string>) =>
    fetch(`${t.baseUrl}/chatbox/admin/sessions${path}`, { method, headers });

  it('shows an administrator any session with a page of its transcript, and audits the view', async () => {
    const { sessionId } = await conversation();

    const res = await call('GET', `/${sessionId}?limit=1`, adminAuth);

    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      session: { id: string };
      messages: { sender: string; seq: number }[];
      hasMore: boolean;
    };
    expect(body.session.id).toBe(sessionId);
    expect(body.messages).toHaveLength(1);
    expect(body.messages[0].sender).toBe('ai');
    expect(body.hasMore).toBe(true);
    expect(await audit(sessionId)).toEqual([
      expect.objectContaining({
        action: 'transcript_view',
        actor: { kind: 'admin', id: adminId, name: 'Ann' },
        details: { limit: 1 },
      }),
    ]);
  });

  it('shows nothing when the view cannot be audited (503 unavailable)', async () => {
    const { sessionId } = await conversation();
    const record = jest
      .spyOn(t.app.get(AuditService), 'record')
      .mockRejectedValueOnce(new Error('the audit log is unreachable'));
    try {
      const res = await call('GET', `/${sessionId}`, adminAuth);

      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        statusCode: 503,
        code: 'unavailable',
        message: 'The view could not be recorded in the audit log; try again',
      });
    } finally {
      record.mockRestore();
    }
  });

  it('refuses a user token with 403 and an unknown session with 404, auditing neither', async () => {
    const { sessionId, token } = await conversation();

    const unknownId = randomUUID();
    const asUser = await call('GET', `/${sessionId}`, { authorization: `Bearer ${token}` });
    const unknown = await call('GET', `/${unknownId}`, adminAuth);

    expect([asUser.status, ((await asUser.json()) as { code: string }).code]).toEqual([403, 'forbidden']);
    expect([unknown.status, ((await unknown.json()) as { code: string }).code]).toEqual([404, 'not_found']);
    expect(await audit(unknownId)).toEqual([]);
    expect(await audit(sessionId)).toEqual([]);
  });

  it("ends any session: the user's devices are told, the end is audited once however often it is asked", async () => {
    const { client, sessionId } = await conversation();

    const first = await call('POST', `/${sessionId}/end`, adminAuth);
    const again = await call('POST', `/${sessionId}/end`, adminAuth);

    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ id: sessionId, status: 'ended' });
    expect(await again.json()).toMatchObject({ id: sessionId, status: 'ended' });
    await client.waitForEvent('session:state', (e) => e.id === sessionId && e.status === 'ended');
    expect((await audit(sessionId)).map((r) => [r.action, r.actor.id])).toEqual([['end', adminId]]);
    const send = await client.call('message:send', { sessionId, clientMessageId: randomUUID(), content: 'still?' });
    expect(send).toMatchObject({ ok: false, error: { code: 'session_ended' } });
  });

  it("lists a user's sessions, the most recently active first, in pages", async () => {
    const userId = `u-${randomUUID()}`;
    const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: userId }));
    clients.push(client);
    const started: string[] = [];
    for (let i = 0; i < 3; i++) {
      started.push((await client.ok<{ sessionId: string }>('session:start', {})).sessionId);
      await client.ok('session:end', { sessionId: started[i] });
    }
    const list = async (query: string, headers = adminAuth) =>
      fetch(`${t.baseUrl}/chatbox/admin/users/${encodeURIComponent(userId)}/sessions${query}`, { headers });

    const first = (await (await list('?limit=2')).json()) as {
      sessions: { id: string; userId: string }[];
      nextCursor: string | null;
    };
    const second = (await (await list(`?limit=2&cursor=${first.nextCursor}`)).json()) as typeof first;

    expect([...first.sessions, ...second.sessions].map((s) => s.id)).toEqual([...started].reverse());
    expect(first.sessions.every((s) => s.userId === userId)).toBe(true);
    expect(second.nextCursor).toBeNull();
    const asUser = await list('', { authorization: `Bearer ${await signToken(t.env.JWT_SECRET, { sub: userId })}` });
    expect(asUser.status).toBe(403);
    const blank = await fetch(`${t.baseUrl}/chatbox/admin/users/a%20b/sessions`, { headers: adminAuth });
    expect([blank.status, ((await blank.json()) as { code: string }).code]).toEqual([400, 'invalid_payload']);
  });
});

describe('an administrator ending a session mid-reply', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ DEMO_DELTA_INTERVAL_MS: '40' });
  });
  afterAll(() => t.close());

  it('stops the reply, keeping what was streamed', async () => {
    const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
    try {
      const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
      await client.ok('message:send', { sessionId, clientMessageId: randomUUID(), content: 'a long story please' });
      const { messageId } = await client.waitForEvent('ai:delta');
      const admin = await signToken(t.env.JWT_SECRET, { sub: `a-${randomUUID()}`, roles: ['admin'] });

      const res = await fetch(`${t.baseUrl}/chatbox/admin/sessions/${sessionId}/end`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}` },
      });

      expect(res.status).toBe(200);
      expect(await client.waitForEvent('ai:end', (e) => e.messageId === messageId)).toMatchObject({
        finishReason: 'session_ended',
      });
    } finally {
      client.close();
    }
  });
});
