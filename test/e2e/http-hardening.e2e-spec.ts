import { startTestApp, TestApp } from '../utils/test-app';

describe('HTTP surface', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      REDIS_URL: process.env.CHATBOX_TEST_REDIS_URL,
      ALLOWED_PARENT_ORIGINS: 'https://host.example',
    });
  });
  afterAll(() => t.close());

  it('serves liveness under the path prefix', async () => {
    const res = await fetch(`${t.baseUrl}/chatbox/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('reports ready with MongoDB and Redis up', async () => {
    const res = await fetch(`${t.baseUrl}/chatbox/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'ok',
      details: { shutdown: { status: 'up' }, mongodb: { status: 'up' }, redis: { status: 'up' } },
      degraded: [],
    });
  });

  it('serves nothing outside the prefix', async () => {
    const res = await fetch(`${t.baseUrl}/healthz`);
    expect(res.status).toBe(404);
  });

  it('answers unknown routes with the error shape and no stack trace', async () => {
    const res = await fetch(`${t.baseUrl}/chatbox/nope`);
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status).toBe(404);
    expect(body).toEqual({ statusCode: 404, code: 'not_found', message: 'Cannot GET /chatbox/nope' });
  });

  it('sets a strict Content-Security-Policy that only the configured parent may frame', async () => {
    const res = await fetch(`${t.baseUrl}/chatbox/healthz`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain('frame-ancestors https://host.example');
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('echoes a plain caller request id and replaces a malformed one', async () => {
    const kept = await fetch(`${t.baseUrl}/chatbox/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(kept.headers.get('x-request-id')).toBe('abc-123');
    const replaced = await fetch(`${t.baseUrl}/chatbox/healthz`, {
      headers: { 'x-request-id': 'not plain; <script>' },
    });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('CORS', () => {
  const preflight = (baseUrl: string, origin: string) =>
    fetch(`${baseUrl}/chatbox/healthz`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'GET' },
    });

  it('denies every origin by default in production', async () => {
    const t = await startTestApp({ NODE_ENV: 'production' });
    try {
      const res = await preflight(t.baseUrl, 'https://evil.example');
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await t.close();
    }
  });

  it('allows exactly the listed origins', async () => {
    const t = await startTestApp({ CORS_ORIGINS: 'https://app.example' });
    try {
      const allowed = await preflight(t.baseUrl, 'https://app.example');
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
      const other = await preflight(t.baseUrl, 'https://app.example.evil.io');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await t.close();
    }
  });
});
