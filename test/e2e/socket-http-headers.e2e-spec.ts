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

describe('security headers on the Socket.IO transport', () => {
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
});
