import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import mongoose from 'mongoose';
import { io } from 'socket.io-client';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';

describe('chat text', () => {
  let t: TestApp;
  let connection: mongoose.Connection;
  const clients: ChatClient[] = [];

  beforeAll(async () => {
    t = await startTestApp({ DEMO_DELTA_INTERVAL_MS: '0', RATE_LIMIT_EVENTS: '1000' });
    connection = await mongoose.createConnection(t.env.MONGODB_URI).asPromise();
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await connection.close();
    await t.close();
  });

  const startSession = async () => {
    const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET));
    clients.push(client);
    const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
    return { client, sessionId };
  };
  const storedIn = (sessionId: string) => connection.collection('messages').countDocuments({ sessionId });

  it.each(['websocket', 'polling'])(
    'refuses a lone surrogate over %s with invalid_payload, storing nothing',
    async (transport) => {
      const { sessionId } = await startSession();
      // A bare socket.io client on one transport: the text crosses the real encoding of that transport.
      const socket = io(`${t.baseUrl}/chat`, {
        path: '/chatbox/socket.io',
        transports: [transport],
        auth: { token: await signToken(t.env.JWT_SECRET) },
        forceNew: true,
        reconnection: false,
      });
      try {
        const send = (content: string) =>
          socket.timeout(10000).emitWithAck('message:send', { sessionId, clientMessageId: randomUUID(), content });
        for (const content of ['a\uD800b', '\uDC00', 'ok \uD83D']) {
          expect(await send(content)).toMatchObject({
            ok: false,
            error: { code: 'invalid_payload', message: expect.stringContaining('lone surrogate') as string },
          });
        }
        expect(await storedIn(sessionId)).toBe(0);
      } finally {
        socket.close();
      }
    },
  );

  it('refuses content that is only whitespace and zero-width or format characters', async () => {
    const { client, sessionId } = await startSession();
    for (const content of ['\u200B', '\u200B\u200C\u200D\u2060\uFEFF', ' \u200E\u202E \n\u3164']) {
      const ack = await client.call('message:send', { sessionId, clientMessageId: randomUUID(), content });
      expect(ack).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    }
    expect(await storedIn(sessionId)).toBe(0);
  });

  it('keeps emoji sequences, joiners among visible text and combining marks exactly as sent', async () => {
    const { client, sessionId } = await startSession();
    const content = '👨‍👩‍👧‍👦 🇫🇷 e\u0301 a\u200Bb';
    await client.ok('message:send', { sessionId, clientMessageId: randomUUID(), content });
    const { messages } = await client.ok<{ messages: { content: string }[] }>('session:resume', { sessionId });
    expect(messages[0].content).toBe(content);
  });

  it('keeps the event loop responsive while the longest message (10,000 emoji) is named, stored and answered', async () => {
    const { client, sessionId } = await startSession();
    const content = '😀'.repeat(10000);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    try {
      await client.ok('message:send', { sessionId, clientMessageId: randomUUID(), content });
      await client.waitForEvent('ai:end', (e) => e.sessionId === sessionId);
    } finally {
      delay.disable();
    }
    const { session } = await client.ok<{ session: { name: string } }>('session:resume', { sessionId });
    expect(session.name).toBe(`${'😀'.repeat(49)}…`);
    // Generous: the naming alone used to block for about half a second here (10 s on the reporter's machine).
    expect(delay.max / 1e6).toBeLessThan(250);
  });
});
