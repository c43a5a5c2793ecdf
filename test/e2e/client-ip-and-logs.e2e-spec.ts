import { startTestApp, TestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

async function logLineFor(t: TestApp, requestId: string) {
  return waitFor(
    () =>
      t.logs.lines.find(
        (l) => (l.req as { id?: string } | undefined)?.id === requestId && l.msg === 'request completed',
      ),
    { what: `the log line of request ${requestId}` },
  );
}

describe('client address attribution', () => {
  it('ignores a spoofed X-Forwarded-For from an untrusted peer', async () => {
    const t = await startTestApp();
    try {
      await fetch(`${t.baseUrl}/chatbox/healthz`, {
        headers: { 'x-forwarded-for': '203.0.113.7', 'x-request-id': 'untrusted-1' },
      });
      const line = await logLineFor(t, 'untrusted-1');
      expect((line.req as { ip: string }).ip).toBe('127.0.0.1');
    } finally {
      await t.close();
    }
  });

  it('attributes the request to the forwarded address behind a trusted proxy', async () => {
    const t = await startTestApp({ TRUSTED_PROXIES: '127.0.0.1/32' });
    try {
      await fetch(`${t.baseUrl}/chatbox/healthz`, {
        headers: { 'x-forwarded-for': '203.0.113.7', 'x-request-id': 'trusted-1' },
      });
      const line = await logLineFor(t, 'trusted-1');
      expect((line.req as { ip: string }).ip).toBe('203.0.113.7');
    } finally {
      await t.close();
    }
  });
});

describe('request logs', () => {
  it('are JSON lines with the request id, without the Authorization header or the query string', async () => {
    const t = await startTestApp();
    try {
      const secret = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.c2lnbmF0dXJl';
      await fetch(`${t.baseUrl}/chatbox/healthz?token=${secret}`, {
        headers: { authorization: `Bearer ${secret}`, cookie: `session=${secret}`, 'x-request-id': 'redact-1' },
      });
      const line = await logLineFor(t, 'redact-1');
      expect(line).toMatchObject({
        level: 30,
        req: {
          id: 'redact-1',
          method: 'GET',
          path: '/chatbox/healthz',
          headers: { authorization: '[Redacted]', cookie: '[Redacted]' },
        },
        res: { statusCode: 200 },
      });
      expect(t.logs.raw).not.toContain(secret);
    } finally {
      await t.close();
    }
  });
});
