import { OwnFerretDb, startOwnFerretDb } from '../servers/own-ferretdb';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

describe('readiness follows MongoDB', () => {
  let mongo: OwnFerretDb;
  let t: TestApp;

  const readyStatus = async () => (await fetch(`${t.baseUrl}/chatbox/readyz`)).status;

  beforeAll(async () => {
    mongo = await startOwnFerretDb();
    t = await startTestApp({ MONGODB_URI: mongo.uri, READINESS_CHECK_TIMEOUT_MS: '500' });
  });
  afterAll(async () => {
    await t.close();
    await mongo.stop();
  });

  it('turns 503 within 2 s of the database dying, and 200 again after it restarts', async () => {
    expect(await readyStatus()).toBe(200);

    await mongo.kill();
    await waitFor(async () => (await readyStatus()) === 503, { timeoutMs: 2000, what: 'readiness 503' });
    const res = await fetch(`${t.baseUrl}/chatbox/readyz`);
    expect(await res.json()).toMatchObject({
      statusCode: 503,
      code: 'not_ready',
      details: { checks: { mongodb: { status: 'down' }, shutdown: { status: 'up' } } },
    });
    expect((await fetch(`${t.baseUrl}/chatbox/healthz`)).status).toBe(200);

    await mongo.start();
    await waitFor(async () => (await readyStatus()) === 200, { timeoutMs: 30000, what: 'readiness 200 again' });
  });
});
