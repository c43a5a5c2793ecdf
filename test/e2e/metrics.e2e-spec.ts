import { startTestApp, TestApp } from '../utils/test-app';
import { freePort } from '../../src/database/server-process';

describe('/metrics behind a bearer token', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('answers 401 without a token and with a wrong one', async () => {
    expect((await fetch(`${t.baseUrl}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: 'Bearer not-the-token' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ statusCode: 401, code: 'unauthorized' });
  });

  it('serves process metrics and the HTTP histogram labelled by route template with the token', async () => {
    await fetch(`${t.baseUrl}/chatbox/healthz?probe=1`);
    await fetch(`${t.baseUrl}/chatbox/no/such/route`);
    const res = await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${t.env.METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toMatch(
      /chatbox_http_request_duration_seconds_count\{method="GET",route="\/chatbox\/healthz",status_code="200"\} [1-9]/,
    );
    expect(text).toMatch(
      /chatbox_http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\}/,
    );
    expect(text).not.toContain('probe=1');
    expect(text).not.toContain('/no/such/route');
  });

  it('is not under the path prefix', async () => {
    const res = await fetch(`${t.baseUrl}/chatbox/metrics`, {
      headers: { authorization: `Bearer ${t.env.METRICS_TOKEN}` },
    });
    expect(res.status).toBe(404);
  });
});

describe('/metrics on METRICS_PORT', () => {
  it('is served only on the metrics port, with the token when one is set', async () => {
    const port = await freePort();
    const t = await startTestApp({ METRICS_PORT: String(port) });
    try {
      const auth = { authorization: `Bearer ${t.env.METRICS_TOKEN}` };
      expect((await fetch(`${t.baseUrl}/metrics`, { headers: auth })).status).toBe(404);
      const metricsUrl = `http://127.0.0.1:${port}/metrics`;
      expect((await fetch(metricsUrl)).status).toBe(401);
      const res = await fetch(metricsUrl, { headers: auth });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('process_cpu_user_seconds_total');
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      await t.close();
    }
  });
});
