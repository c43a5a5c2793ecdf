import { randomUUID } from 'node:crypto';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp, testMongoUri } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

describe('two application instances on one Redis', () => {
  let one: TestApp;
  let two: TestApp;
  const clients: ChatClient[] = [];

  beforeAll(async () => {
    const shared = {
      REDIS_URL: process.env.CHATBOX_TEST_REDIS_URL,
      MONGODB_URI: testMongoUri(),
      DEMO_DELTA_INTERVAL_MS: '20',
    };
    one = await startTestApp(shared);
    two = await startTestApp({ ...shared, JWT_SECRET: one.env.JWT_SECRET, ENCRYPTION_KEY: one.env.ENCRYPTION_KEY });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await one.close();
    await two.close();
  });

  const deviceOn = async (app: TestApp, userId: string) => {
    const client = await ChatClient.connect(app.baseUrl, await signToken(one.env.JWT_SECRET, { sub: userId }));
    clients.push(client);
    return client;
  };

  it('shows device A on instance 1 and device B on instance 2 the same conversation in the same order', async () => {
    const user = `u-${randomUUID()}`;
    const a = await deviceOn(one, user);
    const b = await deviceOn(two, user);
    const { sessionId } = await a.ok<{ sessionId: string }>('session:start', {});
    await b.ok('session:resume', { sessionId });

    await a.ok('message:send', { sessionId, clientMessageId: randomUUID(), content: 'from A' });
    await waitFor(() => b.named('ai:end').length === 1, { what: 'the first reply on B' });
    await b.ok('message:send', { sessionId, clientMessageId: randomUUID(), content: 'from B' });
    await waitFor(() => a.named('ai:end').length === 2 && b.named('ai:end').length === 2, {
      what: 'both replies on both',
    });

    const timeline = (c: ChatClient) =>
      c.events
        .filter((e) => ['message:new', 'ai:start', 'ai:end'].includes(e.event))
        .map((e) => `${e.event}:${String(e.payload.id ?? e.payload.messageId)}`);
    expect(timeline(b)).toEqual(timeline(a));
    expect(timeline(a)).toHaveLength(6);
    const { messages } = await b.ok<{ messages: { seq: number; sender: string }[] }>('session:resume', { sessionId });
    expect(messages.map((m) => [m.seq, m.sender])).toEqual([
      [1, 'user'],
      [2, 'ai'],
      [3, 'user'],
      [4, 'ai'],
    ]);
  });

  it('stops from instance 2 a turn that instance 1 runs', async () => {
    const user = `u-${randomUUID()}`;
    const a = await deviceOn(one, user);
    const b = await deviceOn(two, user);
    const { sessionId } = await a.ok<{ sessionId: string }>('session:start', {});
    await b.ok('session:resume', { sessionId });
    // Sent through instance 1, so instance 1 runs the turn.
    await a.ok('message:send', { sessionId, clientMessageId: randomUUID(), content: 'please talk for a while' });
    await b.waitForEvent('ai:delta');
    await b.ok('message:stop', { sessionId });
    const end = await a.waitForEvent('ai:end');
    expect(end.finishReason).toBe('stopped');
    const { messages } = await b.ok<{ messages: { sender: string; status: string; content: string }[] }>(
      'session:resume',
      { sessionId },
    );
    expect(messages.find((m) => m.sender === 'ai')).toMatchObject({
      status: 'stopped',
      content: a.streamedText(end.messageId as string),
    });
  });
});
