import { randomUUID } from 'node:crypto';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';

describe('user sessions REST', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ DEMO_DELTA_INTERVAL_MS: '0' });
  });
  afterAll(() => t.close());

  const api = async (token: string, path: string, init: RequestInit = {}) => {
    const res = await fetch(`${t.baseUrl}/chatbox${path}`, { ...init, headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('requires a bearer token, and never takes one from the query string', async () => {
    const token = await signToken(t.env.JWT_SECRET);
    expect((await fetch(`${t.baseUrl}/chatbox/sessions`)).status).toBe(401);
    const viaQuery = await fetch(`${t.baseUrl}/chatbox/sessions?token=${token}`);
    expect(viaQuery.status).toBe(401);
    expect(await viaQuery.json()).toMatchObject({ code: 'unauthorized' });
  });

  it("answers 404 for another user's session, the same as for none", async () => {
    const ownerToken = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` });
    const otherToken = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` });
    const owner = await ChatClient.connect(t.baseUrl, ownerToken);
    const { sessionId } = await owner.ok<{ sessionId: string }>('session:start', {});
    owner.close();

    expect((await api(ownerToken, `/sessions/${sessionId}`)).status).toBe(200);
    const foreign = await api(otherToken, `/sessions/${sessionId}`);
    const missing = await api(otherToken, `/sessions/${randomUUID()}`);
    expect(foreign).toEqual({
      status: 404,
      body: { statusCode: 404, code: 'not_found', message: 'Session not found' },
    });
    expect(missing).toEqual(foreign);
    expect((await api(otherToken, `/sessions/${sessionId}/end`, { method: 'POST' })).status).toBe(404);
    expect((await api(otherToken, '/sessions/not-a-uuid')).body).toMatchObject({
      statusCode: 400,
      code: 'invalid_payload',
    });
  });

  it('lists my sessions by recent activity with details, and pages stably while new sessions are created', async () => {
    const token = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` });
    const client = await ChatClient.connect(t.baseUrl, token);
    const ids: string[] = [];
    try {
      for (let i = 0; i < 5; i++) ids.push((await client.ok<{ sessionId: string }>('session:start', {})).sessionId);
      const page1 = await api(token, '/sessions?limit=2');
      expect((page1.body.sessions as { id: string }[]).map((s) => s.id)).toEqual([ids[4], ids[3]]);

      // Sessions created between pages do not shift the pages already under way.
      const { sessionId: named } = await client.ok<{ sessionId: string }>('session:start', {});
      await client.ok('message:send', {
        sessionId: named,
        clientMessageId: 'n1',
        content: 'Name me after this line please',
      });
      await client.waitForEvent('ai:end');

      const page2 = await api(token, `/sessions?limit=2&cursor=${page1.body.nextCursor as string}`);
      const page3 = await api(token, `/sessions?limit=2&cursor=${page2.body.nextCursor as string}`);
      expect((page2.body.sessions as { id: string }[]).map((s) => s.id)).toEqual([ids[2], ids[1]]);
      expect((page3.body.sessions as { id: string }[]).map((s) => s.id)).toEqual([ids[0]]);
      expect(page3.body.nextCursor).toBeNull();

      const fresh = await api(token, '/sessions?limit=1');
      expect(fresh.body.sessions).toEqual([
        expect.objectContaining({
          id: named,
          name: 'Name me after this line please',
          status: 'active',
          messageCount: 2,
          assisted: false,
          lastMessageAt: expect.any(String) as string,
        }),
      ]);
    } finally {
      client.close();
    }
  });

  it('refuses malformed cursors and limits', async () => {
    const token = await signToken(t.env.JWT_SECRET);
    expect((await api(token, '/sessions?cursor=garbage')).body).toMatchObject({
      statusCode: 400,
      code: 'invalid_payload',
    });
    expect((await api(token, '/sessions?limit=1000')).status).toBe(400);
    expect((await api(token, '/sessions?limit[$gt]=1')).status).toBe(400);
  });

  it('ends a session idempotently', async () => {
    const token = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` });
    const client = await ChatClient.connect(t.baseUrl, token);
    const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
    client.close();
    const first = await api(token, `/sessions/${sessionId}/end`, { method: 'POST' });
    const second = await api(token, `/sessions/${sessionId}/end`, { method: 'POST' });
    expect(first).toMatchObject({ status: 200, body: { id: sessionId, status: 'ended' } });
    expect(second).toEqual(first);
  });
});
