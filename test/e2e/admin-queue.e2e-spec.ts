import { randomBytes, randomUUID } from 'node:crypto';
import { AdminClient } from '../utils/admin-client';
import { ChatClient, signToken } from '../utils/chat-client';
import { ChatboxProcess } from '../utils/chatbox-process';
import { testMongoUri } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

describe('the admin queue, on two service processes sharing Redis', () => {
  const env = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    MONGODB_URI: testMongoUri(),
    REDIS_URL: process.env.CHATBOX_TEST_REDIS_URL ?? '',
    JWT_SECRET: randomBytes(32).toString('base64'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    DEMO_DELTA_INTERVAL_MS: '20',
    JWT_CLOCK_SKEW_S: '0',
  };
  const processes = [new ChatboxProcess(env), new ChatboxProcess(env)];
  const closers: { close(): void }[] = [];
  let urls: string[];

  beforeAll(async () => {
    urls = await Promise.all(processes.map((p) => p.listening()));
  });
  afterEach(() => closers.splice(0).forEach((c) => c.close()));
  afterAll(() => Promise.all(processes.map((p) => p.stop())));

  const admin = async (url: string) => {
    const client = new AdminClient(
      url,
      await signToken(env.JWT_SECRET, { sub: `a-${randomUUID()}`, roles: ['admin'] }),
    );
    closers.push(client);
    return client;
  };
  const user = async (url: string) => {
    const client = await ChatClient.connect(url, await signToken(env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
    closers.push(client);
    return client;
  };

  it('refuses a user token with forbidden, and no token with unauthorized', async () => {
    const asUser = new AdminClient(urls[0], await signToken(env.JWT_SECRET, { sub: 'someone' }));
    const anonymous = new AdminClient(urls[0]);
    closers.push(asUser, anonymous);
    const [userRefusal, anonymousRefusal] = await Promise.all([asUser.refused(), anonymous.refused()]);
    expect(userRefusal.data?.code).toBe('forbidden');
    expect(anonymousRefusal.data?.code).toBe('unauthorized');
  });

  it("closes an admin's socket when its token expires", async () => {
    const expiring = new AdminClient(
      urls[0],
      await signToken(env.JWT_SECRET, { sub: `a-${randomUUID()}`, roles: ['admin'] }, '2s'),
    );
    closers.push(expiring);
    await expiring.snapshot();
    const closed = new Promise<string>((resolve) => expiring.socket.once('disconnect', resolve));
    await waitFor(() => expiring.events.find((e) => e.event === 'error' && e.payload.code === 'token_expired'), {
      timeoutMs: 10000,
      what: 'token_expired',
    });
    expect(await closed).toBe('io server disconnect');
  });

  it('gives a connecting admin the active sessions, those asking for help first', async () => {
    const quiet = await user(urls[0]);
    const asking = await user(urls[1]);
    const { sessionId: quietId } = await quiet.ok<{ sessionId: string }>('session:start', {});
    const { sessionId: askingId } = await asking.ok<{ sessionId: string }>('help:request', { reason: 'stuck' });
    await quiet.ok('message:send', { sessionId: quietId, clientMessageId: 'q1', content: 'latest activity here' });

    const { sessions } = await (await admin(urls[0])).snapshot();
    const ids = sessions.map((s) => s.id);
    expect(ids).toContain(quietId);
    expect(ids.indexOf(askingId)).toBeLessThan(ids.indexOf(quietId));
    expect(sessions.find((s) => s.id === askingId)).toMatchObject({
      status: 'active',
      owner: 'ai',
      help: { source: 'user', reason: 'stuck' },
    });
    expect(sessions.find((s) => s.id === quietId)?.help).toBeNull();
  });

  it('tells an admin on the other replica of a help request, its withdrawal and the end of the session', async () => {
    const watcher = await admin(urls[1]);
    await watcher.snapshot();
    const client = await user(urls[0]);
    const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
    await waitFor(() => watcher.latest(sessionId), { what: 'the new session in the queue' });

    await client.ok('help:request', { sessionId, reason: 'a human, please' });
    const asked = await waitFor(() => watcher.latest(sessionId)?.help ?? undefined, { what: 'the help request' });
    expect(asked).toMatchObject({ source: 'user', reason: 'a human, please' });

    await client.ok('help:cancel', { sessionId });
    await waitFor(() => watcher.latest(sessionId)?.help === null, { what: 'the withdrawal' });

    await client.ok('session:end', { sessionId });
    await waitFor(() => watcher.latest(sessionId)?.removed === true, { what: 'the session to leave the queue' });
    expect(watcher.latest(sessionId)?.status).toBe('ended');
  });
});
