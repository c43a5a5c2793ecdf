import { randomUUID } from 'node:crypto';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';

describe('share links', () => {
  let t: TestApp;
  let token: string;
  let sessionId: string;

  const api = async (path: string, init: RequestInit & { auth?: string | null; ip?: string } = {}) => {
    const headers: Record<string, string> = init.body ? { 'content-type': 'application/json' } : {};
    if (init.auth !== null) headers.authorization = `Bearer ${init.auth ?? token}`;
    if (init.ip) headers['x-forwarded-for'] = init.ip;
    const res = await fetch(`${t.baseUrl}/chatbox${path}`, { ...init, headers });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
  };

  beforeAll(async () => {
    t = await startTestApp({
      DEMO_DELTA_INTERVAL_MS: '0',
      PUBLIC_RATE_LIMIT_PER_MINUTE: '5',
      TRUSTED_PROXIES: '127.0.0.1',
    });
    token = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}`, name: 'Owner Name' });
    const client = await ChatClient.connect(t.baseUrl, token);
    ({ sessionId } = await client.ok<{ sessionId: string }>('session:start', {}));
    await client.ok('message:send', { sessionId, clientMessageId: 's1', content: 'Shared question' });
    await client.waitForEvent('ai:end');
    client.close();
  });
  afterAll(() => t.close());

  it('creates a link whose public view shows the conversation text only', async () => {
    const created = await api(`/sessions/${sessionId}/shares`, { method: 'POST', body: '{}' });
    expect(created).toMatchObject({ status: 201, body: { expiresAt: null, revoked: false } });
    const view = await api(`/shared/${created.body.token as string}`, { auth: null, ip: '198.51.100.1' });
    expect(view.status).toBe(200);
    // The token is the link's secret: the request log names the route, not it.
    expect(t.logs.raw).not.toContain(created.body.token as string);
    expect(
      t.logs.lines.some((line) => (line.req as { path?: string } | undefined)?.path === '/chatbox/shared/[token]'),
    ).toBe(true);
    expect(view.body).toEqual({
      session: { name: 'Shared question', status: 'active', startedAt: expect.any(String) as string, endedAt: null },
      messages: [
        { seq: 1, sender: 'user', content: 'Shared question', createdAt: expect.any(String) as string },
        {
          seq: 2,
          sender: 'ai',
          content: expect.stringContaining('Shared question') as string,
          createdAt: expect.any(String) as string,
          replyToSeq: 1,
        },
      ],
      hasMore: false,
    });
    expect(JSON.stringify(view.body)).not.toMatch(/Owner Name|sessionId|files|u-[0-9a-f]{8}/);
  });

  it('stops serving a revoked link, and lists links without their tokens', async () => {
    const created = await api(`/sessions/${sessionId}/shares`, { method: 'POST', body: '{}' });
    const shareId = created.body.id as string;
    expect((await api(`/sessions/${sessionId}/shares/${shareId}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(`/sessions/${sessionId}/shares/${shareId}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(`/shared/${created.body.token as string}`, { auth: null, ip: '198.51.100.2' })).status).toBe(404);
    const listed = await api(`/sessions/${sessionId}/shares`);
    expect(listed.body).toEqual(expect.arrayContaining([expect.objectContaining({ id: shareId, revoked: true })]));
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token as string);
  });

  it('validates the expiry and keeps other users out', async () => {
    expect(
      (await api(`/sessions/${sessionId}/shares`, { method: 'POST', body: '{"expiresInSeconds":5}' })).status,
    ).toBe(400);
    expect(
      (await api(`/sessions/${sessionId}/shares`, { method: 'POST', body: '{"expiresInSeconds":{"$gt":0}}' })).status,
    ).toBe(400);
    const withExpiry = await api(`/sessions/${sessionId}/shares`, {
      method: 'POST',
      body: '{"expiresInSeconds":3600}',
    });
    expect(new Date(withExpiry.body.expiresAt as string).getTime()).toBeGreaterThan(Date.now() + 3500 * 1000);
    const stranger = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` });
    expect((await api(`/sessions/${sessionId}/shares`, { method: 'POST', body: '{}', auth: stranger })).status).toBe(
      404,
    );
    expect((await api('/shared/not-a-real-token', { auth: null, ip: '198.51.100.3' })).status).toBe(404);
  });

  it('limits the public view per client address', async () => {
    const ip = '203.0.113.50';
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await api('/shared/unknown', { auth: null, ip })).status);
    expect(statuses).toEqual([404, 404, 404, 404, 404, 429]);
    const limited = await api('/shared/unknown', { auth: null, ip });
    expect(limited.body).toMatchObject({ statusCode: 429, code: 'rate_limited' });
    expect((await api('/shared/unknown', { auth: null, ip: '203.0.113.51' })).status).toBe(404);
  });
});
