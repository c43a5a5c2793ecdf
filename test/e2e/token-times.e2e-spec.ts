import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { ChatboxProcess } from '../utils/chatbox-process';
import { ChatClient, signToken } from '../utils/chat-client';
import { testEnv } from '../utils/test-app';

const DAY_S = 86400;
const nowS = () => Math.floor(Date.now() / 1000);

// A real process, because the failure this guards against was the whole process dying.
describe('token times against the service process', () => {
  let p: ChatboxProcess;
  let baseUrl: string;
  const clients: ChatClient[] = [];
  const token = (claims: Record<string, unknown>, exp: number) =>
    new SignJWT({ sub: `u-${randomUUID()}`, iat: nowS(), ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(p.env.JWT_SECRET));
  const connect = async (jwt: string) => {
    const client = await ChatClient.connect(baseUrl, jwt);
    clients.push(client);
    return client;
  };

  /** Up, answering, and able to run a whole chat turn. */
  const expectHealthy = async () => {
    expect(p.running).toBe(true);
    expect((await fetch(`${baseUrl}/chatbox/healthz`)).status).toBe(200);
    const client = await connect(await signToken(p.env.JWT_SECRET));
    const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
    await client.ok('message:send', { sessionId, clientMessageId: randomUUID(), content: 'still there?' });
    expect(await client.waitForEvent('ai:end')).toMatchObject({ sessionId, finishReason: 'stop' });
  };

  beforeAll(async () => {
    p = new ChatboxProcess(testEnv({ DEMO_DELTA_INTERVAL_MS: '0' }));
    baseUrl = await p.listening();
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(() => p.stop());

  it('refuses exp: 1e300 on the handshake with unauthorized, and stays up', async () => {
    const client = new ChatClient(baseUrl, { token: await token({}, 1e300) });
    clients.push(client);
    expect((await client.refused()).data?.code).toBe('unauthorized');
    await expectHealthy();
  });

  it('refuses exp: 1e300 through auth:refresh with unauthorized, keeps the socket, and stays up', async () => {
    const sub = `u-${randomUUID()}`;
    const client = await connect(await token({ sub }, nowS() + 3600));
    const ack = await client.call('auth:refresh', { token: await token({ sub }, 1e300) });
    expect(ack).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    await client.ok('session:start', {});
    expect(client.socket.connected).toBe(true);
    await expectHealthy();
  });

  it('keeps the socket of a 29-day token, past the range of one timer', async () => {
    const client = await connect(await token({}, nowS() + 29 * DAY_S));
    // Database round trips: long after a timer that overflowed would have fired (1 ms).
    await client.ok('session:start', {});
    await client.ok('session:start', {});
    expect(client.socket.connected).toBe(true);
    expect(client.named('error')).toEqual([]);
    expect(client.named('auth:expiring')).toEqual([]);
  });

  it('keeps the socket when auth:refresh brings a 29-day token', async () => {
    const sub = `u-${randomUUID()}`;
    const client = await connect(await token({ sub }, nowS() + 3600));
    const exp = nowS() + 29 * DAY_S;
    expect(await client.ok('auth:refresh', { token: await token({ sub }, exp) })).toEqual({
      expiresAt: new Date(exp * 1000).toISOString(),
    });
    await client.ok('session:start', {});
    await client.ok('session:start', {});
    expect(client.socket.connected).toBe(true);
    expect(client.named('error')).toEqual([]);
  });

  it('refuses the same tokens on REST: exp too far ahead, or issued in the future', async () => {
    const get = async (jwt: string) => {
      const res = await fetch(`${baseUrl}/chatbox/sessions`, { headers: { authorization: `Bearer ${jwt}` } });
      return { status: res.status, code: ((await res.json()) as { code?: string }).code };
    };
    const unauthorized = { status: 401, code: 'unauthorized' };
    expect(await get(await token({}, 1e300))).toEqual(unauthorized);
    expect(await get(await token({}, nowS() + 31 * DAY_S))).toEqual(unauthorized);
    expect(await get(await token({ iat: nowS() + 3600 }, nowS() + 7200))).toEqual(unauthorized);
    expect((await get(await token({}, nowS() + 29 * DAY_S))).status).toBe(200);
    await expectHealthy();
  });
});
