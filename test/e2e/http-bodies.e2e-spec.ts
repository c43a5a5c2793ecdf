import { randomUUID } from 'node:crypto';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';

describe('request bodies', () => {
  let t: TestApp;
  let token: string;
  let sessionId: string;

  beforeAll(async () => {
    t = await startTestApp();
    token = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` });
    const client = await ChatClient.connect(t.baseUrl, token);
    ({ sessionId } = await client.ok<{ sessionId: string }>('session:start', {}));
    client.close();
  });
  afterAll(() => t.close());

  const post = async (path: string, body: string | undefined, contentType?: string) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (contentType) headers['content-type'] = contentType;
    const res = await fetch(`${t.baseUrl}/chatbox${path}`, { method: 'POST', headers, body });
    return { status: res.status, body: (await res.json()) as { code?: string; message?: string } };
  };
  const share = (body: string | undefined, contentType: string | undefined = 'application/json') =>
    post(`/sessions/${sessionId}/shares`, body, contentType);
  const shareCount = async () => {
    const res = await fetch(`${t.baseUrl}/chatbox/sessions/${sessionId}/shares`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return ((await res.json()) as unknown[]).length;
  };

  it('answers 400 invalid_payload, not 500, to a 10,000-deep array', async () => {
    const before = await shareCount();
    expect(await share('['.repeat(10000) + ']'.repeat(10000))).toMatchObject({
      status: 400,
      body: { code: 'invalid_payload' },
    });
    expect(await share(`{"expiresInSeconds":${'['.repeat(10000)}${']'.repeat(10000)}}`)).toMatchObject({
      status: 400,
      body: { code: 'invalid_payload', message: expect.stringContaining('deeper') as string },
    });
    expect(await shareCount()).toBe(before);
  });

  it('refuses a body nested past the depth limit or with too many keys, before validation', async () => {
    const nested = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
    expect((await share(nested(9))).status).toBe(400);
    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i])));
    expect(await share(wide)).toMatchObject({
      status: 400,
      body: { code: 'invalid_payload', message: expect.stringContaining('keys') as string },
    });
    expect(await share(JSON.stringify({ expiresInSeconds: Array(1001).fill(1) }))).toMatchObject({ status: 400 });
  });

  it.each(['null', '[]', '"text"', '42', 'true'])('refuses the JSON body %s: a body is an object', async (body) => {
    const before = await shareCount();
    expect(await share(body)).toMatchObject({ status: 400, body: { code: 'invalid_payload' } });
    expect(await shareCount()).toBe(before);
  });

  it.each([
    ['text/plain', '{"expiresInSeconds":3600}'],
    ['application/x-www-form-urlencoded', 'expiresInSeconds=3600'],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--'],
    ['application/xml', '<share/>'],
    [undefined, '{}'],
  ])('answers 415 unsupported_media_type to a %s body', async (contentType, body) => {
    const before = await shareCount();
    const res = contentType
      ? await share(body, contentType)
      : await fetch(`${t.baseUrl}/chatbox/sessions/${sessionId}/shares`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
          body: new Blob([body]),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { code?: string } }));
    expect(res).toMatchObject({ status: 415, body: { code: 'unsupported_media_type' } });
    expect(await shareCount()).toBe(before);
  });

  it('accepts JSON objects, with a charset too, and requests with no body at all', async () => {
    expect((await share('{"expiresInSeconds":3600}')).status).toBe(201);
    expect((await share('{}', 'application/json; charset=utf-8')).status).toBe(201);
    expect((await post(`/sessions/${sessionId}/shares`, undefined)).status).toBe(201);
    expect((await post(`/sessions/${sessionId}/end`, undefined)).status).toBe(200);
  });

  it('answers 413 payload_too_large past HTTP_BODY_LIMIT_BYTES', async () => {
    expect(await share(JSON.stringify({ pad: 'x'.repeat(1048576) }))).toMatchObject({
      status: 413,
      body: { code: 'payload_too_large' },
    });
  });

  it('still refuses malformed JSON and prototype keys with 400', async () => {
    expect(await share('{"expiresInSeconds":')).toMatchObject({ status: 400, body: { code: 'invalid_payload' } });
    expect(await share('{"__proto__":{"polluted":true}}')).toMatchObject({ status: 400 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
