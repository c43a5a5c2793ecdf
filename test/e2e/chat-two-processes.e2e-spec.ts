import { randomBytes, randomUUID } from 'node:crypto';
import { ChatClient, signToken } from '../utils/chat-client';
import { ChatboxProcess } from '../utils/chatbox-process';
import { testMongoUri } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

describe('two service processes on one Redis', () => {
  const env = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    MONGODB_URI: testMongoUri(),
    REDIS_URL: process.env.CHATBOX_TEST_REDIS_URL ?? '',
    JWT_SECRET: randomBytes(32).toString('base64'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    DEMO_DELTA_INTERVAL_MS: '20',
  };
  const processes = [new ChatboxProcess(env), new ChatboxProcess(env)];
  const clients: ChatClient[] = [];
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await Promise.all(processes.map((p) => p.stop()));
  });

  it('serves one conversation to devices on different processes, in the same order, and stops across them', async () => {
    const [url1, url2] = await Promise.all(processes.map((p) => p.listening()));
    const token = await signToken(env.JWT_SECRET, { sub: `u-${randomUUID()}` });
    const a = await ChatClient.connect(url1, token);
    const b = await ChatClient.connect(url2, token);
    clients.push(a, b);

    const { sessionId } = await a.ok<{ sessionId: string }>('session:start', {});
    await b.ok('session:resume', { sessionId });
    await b.ok('message:send', { sessionId, clientMessageId: randomUUID(), content: 'hello from process two' });
    await waitFor(() => a.named('ai:end').length === 1 && b.named('ai:end').length === 1, {
      what: 'the reply on both',
    });
    const timeline = (c: ChatClient) =>
      c.events
        .filter((e) => e.event.startsWith('message:') || e.event.startsWith('ai:'))
        .map((e) => `${e.event}:${JSON.stringify(e.payload)}`);
    expect(timeline(a)).toEqual(timeline(b));
    expect(timeline(a)[0]).toMatch(/^message:new:.*hello from process two/);

    // Sent through process 1, so process 1 runs the turn; the stop comes through process 2.
    await a.ok('message:send', { sessionId, clientMessageId: randomUUID(), content: 'talk for a while' });
    await b.waitForEvent('ai:delta', (d) => d.messageId !== a.named('ai:end')[0].messageId);
    await b.ok('message:stop', { sessionId });
    const end = await waitFor(() => a.named('ai:end')[1], { what: 'the second turn to end' });
    expect(end.finishReason).toBe('stopped');
  });
});
