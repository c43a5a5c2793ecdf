import { randomUUID } from 'node:crypto';
import { signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';

describe('keys with "$" or "." in a query or body', () => {
  let t: TestApp;
  let auth: Record<string, string>;

  beforeAll(async () => {
    t = await startTestApp();
    auth = { authorization: `Bearer ${await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` })}` };
  });
  afterAll(() => t.close());

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${t.baseUrl}/chatbox${path}`, {
      method,
      headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { code: string; message: string } };
  };

  it('are refused with 400 invalid_payload naming the parameter, on a route that reads no query', async () => {
    const { status, body } = await call('POST', `/sessions/${randomUUID()}/end?$where=1`);

    expect(status).toBe(400);
    expect(body).toEqual({
      statusCode: 400,
      code: 'invalid_payload',
      message: 'query parameter "$where" is not allowed: keys may not hold "$" or "."',
    });
  });

  it('are refused in a bracketed query key', async () => {
    const { status, body } = await call('GET', '/sessions?filter[$ne]=');

    expect(status).toBe(400);
    expect(body).toMatchObject({
      code: 'invalid_payload',
      message: expect.stringContaining('"filter[$ne]"') as string,
    });
  });

  it('are refused deep in a body, and a dotted key too', async () => {
    const nested = await call('POST', `/sessions/${randomUUID()}/shares`, { expiresInSeconds: 60, a: { $gt: '' } });
    const dotted = await call('POST', `/sessions/${randomUUID()}/shares`, { 'expiresInSeconds.x': 60 });

    expect([nested.status, nested.body.message]).toEqual([400, expect.stringContaining('body parameter "a.$gt"')]);
    expect([dotted.status, dotted.body.message]).toEqual([
      400,
      expect.stringContaining('body parameter "expiresInSeconds.x"'),
    ]);
  });

  it('are refused before authentication is looked at', async () => {
    const res = await fetch(`${t.baseUrl}/chatbox/sessions?sort=$where`);
    const body = (await res.json()) as { code: string };

    // The value may hold "$": only keys are operators. This one has no token, so it is 401.
    expect([res.status, body.code]).toEqual([401, 'unauthorized']);
    const keyed = await fetch(`${t.baseUrl}/chatbox/sessions?$sort=1`);
    expect(keyed.status).toBe(400);
  });
});
