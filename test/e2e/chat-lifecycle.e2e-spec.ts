import { randomBytes, randomUUID } from 'node:crypto';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, testMongoUri } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

const key = () => randomBytes(32).toString('base64');

describe('reconnect window', () => {
  it('ends a session no device has held for the window, and refuses the next send with session_ended', async () => {
    const t = await startTestApp({ RECONNECT_WINDOW_MS: '1000', SESSION_SWEEP_INTERVAL_MS: '100' });
    try {
      const token = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` });
      const first = await ChatClient.connect(t.baseUrl, token);
      const { sessionId } = await first.ok<{ sessionId: string }>('session:start', {});
      first.close();

      const status = async () => {
        const res = await fetch(`${t.baseUrl}/chatbox/sessions/${sessionId}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        return ((await res.json()) as { session: { status: string } }).session.status;
      };
      await waitFor(async () => (await status()) === 'ended', {
        timeoutMs: 10000,
        what: 'the sweeper to end the session',
      });

      const again = await ChatClient.connect(t.baseUrl, token);
      try {
        const ack = await again.call('message:send', { sessionId, clientMessageId: 'late', content: 'still there?' });
        expect(ack).toMatchObject({ ok: false, error: { code: 'session_ended' } });
      } finally {
        again.close();
      }
    } finally {
      await t.close();
    }
  });

  it('keeps a session alive while a device holds it, past the window', async () => {
    const t = await startTestApp({ RECONNECT_WINDOW_MS: '1000', SESSION_SWEEP_INTERVAL_MS: '100' });
    const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, {}));
    try {
      const { sessionId } = await client.ok<{ sessionId: string; startedAt: string }>('session:start', {});
      // Wait on the clock, not a sleep: until well past the window, the session must still be active.
      const until = Date.now() + 2000;
      await waitFor(
        async () => {
          const { session } = await client.ok<{ session: { status: string } }>('session:resume', { sessionId });
          expect(session.status).toBe('active');
          return Date.now() > until;
        },
        { timeoutMs: 5000, intervalMs: 200, what: 'two seconds to pass' },
      );
    } finally {
      client.close();
      await t.close();
    }
  });
});

describe('encryption key rotation', () => {
  it('reads history written with key 1 after key 2 becomes active, and writes new content with key 2', async () => {
    const [k1, k2] = [key(), key()];
    const mongoUri = testMongoUri();
    const before = await startTestApp({
      MONGODB_URI: mongoUri,
      ENCRYPTION_KEYS: `k1:${k1}`,
      ENCRYPTION_KEY: undefined,
    });
    const userToken = await signToken(before.env.JWT_SECRET, { sub: `u-${randomUUID()}` });
    let sessionId: string;
    try {
      const client = await ChatClient.connect(before.baseUrl, userToken);
      ({ sessionId } = await client.ok<{ sessionId: string }>('session:start', {}));
      await client.ok('message:send', { sessionId, clientMessageId: 'm1', content: 'written under key one' });
      await client.waitForEvent('ai:end');
      client.close();
    } finally {
      await before.close();
    }

    const after = await startTestApp({
      MONGODB_URI: mongoUri,
      JWT_SECRET: before.env.JWT_SECRET,
      ENCRYPTION_KEYS: `k2:${k2},k1:${k1}`,
      ENCRYPTION_KEY: undefined,
    });
    try {
      const client = await ChatClient.connect(after.baseUrl, userToken);
      const { messages } = await client.ok<{ messages: { content: string }[] }>('session:resume', { sessionId });
      expect(messages[0].content).toBe('written under key one');
      await client.ok('message:send', { sessionId, clientMessageId: 'm2', content: 'written under key two' });
      await waitFor(() => client.named('ai:end').length === 1, { what: 'the second reply' });
      client.close();
      const mongoose = (await import('mongoose')).default;
      const connection = await mongoose.createConnection(mongoUri).asPromise();
      const stored = await connection.collection('messages').find({ sessionId }).sort({ seq: 1 }).toArray();
      await connection.close();
      expect(stored.map((m) => (m.content as string).split(':')[1])).toEqual(['k1', 'k1', 'k2', 'k2']);
    } finally {
      await after.close();
    }
  });
});
