import { connect } from 'node:net';
import { startTestApp, TestApp } from '../utils/test-app';

// The headers helmet sets on every Fastify answer; engine.io answers the Socket.IO path itself.
const SECURITY_HEADERS = [
  'content-security-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
];

const securityHeaders = (res: Response) =>
  Object.fromEntries(SECURITY_HEADERS.map((name) => [name, res.headers.get(name)]));

describe('security headers on answers no route gives', () => {
  let t: TestApp;
  let expected: Record<string, string | null>;
  const polling = (query: string, init?: RequestInit) =>
    fetch(`${t.baseUrl}/chatbox/socket.io/?EIO=4&transport=polling${query}`, init);

  beforeAll(async () => {
    t = await startTestApp({ ALLOWED_PARENT_ORIGINS: 'https://host.example' });
    expected = securityHeaders(await fetch(`${t.baseUrl}/chatbox/healthz`));
  });
  afterAll(() => t.close());

  it('sets on HTTP answers every header the test expects', () => {
    expect(Object.values(expected).every((value) => typeof value === 'string')).toBe(true);
    expect(expected['content-security-policy']).toContain('frame-ancestors https://host.example');
  });

  it('sets the same headers on every long-polling answer: handshake, data, poll', async () => {
    const handshake = await polling('');
    expect(handshake.status).toBe(200);
    expect(securityHeaders(handshake)).toEqual(expected);
    const { sid } = JSON.parse((await handshake.text()).slice(1)) as { sid: string };

    // Namespace connect without a token (refused by the namespace, answered by the transport).
    const data = await polling(`&sid=${sid}`, {
      method: 'POST',
      body: '40/chat,',
      headers: { 'content-type': 'text/plain' },
    });
    expect(data.status).toBe(200);
    expect(securityHeaders(data)).toEqual(expected);
    const poll = await polling(`&sid=${sid}`);
    expect(poll.status).toBe(200);
    expect(await poll.text()).toContain('44/chat');
    expect(securityHeaders(poll)).toEqual(expected);
  });

  it('sets them on the transport error answers too', async () => {
    const unknownSession = await polling('&sid=nope');
    expect(unknownSession.status).toBe(400);
    expect(securityHeaders(unknownSession)).toEqual(expected);
    const badTransport = await fetch(`${t.baseUrl}/chatbox/socket.io/?EIO=4&transport=carrier-pigeon`);
    expect(badTransport.status).toBe(400);
    expect(securityHeaders(badTransport)).toEqual(expected);
  });

  /** Writes raw bytes and reads the whole answer: for requests Node cannot parse, which fetch would not send. */
  const rawRequest = (bytes: string) =>
    new Promise<{ status: number; headers: Record<string, string>; body: unknown }>((resolve, reject) => {
      const { port } = new URL(t.baseUrl);
      const socket = connect(Number(port), '127.0.0.1', () => socket.write(bytes));
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      socket.on('error', reject);
      socket.on('close', () => {
        const [head, body] = answer.split('\r\n\r\n');
        const [statusLine, ...lines] = head.split('\r\n');
        const headers = Object.fromEntries(
          lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
        );
        resolve({ status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) as unknown });
      });
    });

  it.each([
    ['bad percent-encoding', '/chatbox/sessions/%E0%A4%A/shares', 400],
    ['a parameter too long', `/chatbox/shared/${'x'.repeat(5000)}`, 414],
  ])('sets them, in the error shape, on the answer to a URL the router refuses: %s', async (_label, path, status) => {
    const res = await fetch(`${t.baseUrl}${path}`);
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({
      statusCode: status,
      code: 'invalid_payload',
      message: expect.any(String) as string,
    });
    expect(securityHeaders(res)).toEqual(expected);
  });

  it.each([
    ['headers too large', `GET /chatbox/healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`, 431],
    ['a request that is not HTTP', 'NOT HTTP AT ALL\r\n\r\n', 400],
  ])('sets them, in the error shape, on the answer to %s', async (_label, bytes, status) => {
    const answer = await rawRequest(bytes);
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ statusCode: status, code: 'invalid_payload', message: expect.any(String) as string });
    for (const [name, value] of Object.entries(expected))
      expect({ name, value: answer.headers[name] }).toEqual({ name, value });
  });
});
