import { randomUUID } from 'node:crypto';
import { DemoLlmProvider } from '../../src/llm/providers/demo-llm.provider';
import { SessionService } from '../../src/session/session.service';
import { TurnEngine } from '../../src/turn/turn-engine.service';
import { OwnFerretDb, startOwnFerretDb } from '../servers/own-ferretdb';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

describe('a turn the database keeps from starting', () => {
  let db: OwnFerretDb;
  let t: TestApp;
  let client: ChatClient;

  afterEach(async () => {
    client?.close();
    await t?.close();
    await db?.stop();
  });

  it('starts by itself once the database is back: no other message, resume or presence heartbeat is needed', async () => {
    db = await startOwnFerretDb();
    t = await startTestApp({
      MONGODB_URI: db.uri,
      DEMO_DELTA_INTERVAL_MS: '0',
      TURN_LEASE_MS: '2000',
      // No presence heartbeat during the test: it would start the owed turn itself.
      SESSION_SWEEP_INTERVAL_MS: '3600000',
    });
    const userId = `u-${randomUUID()}`;
    client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: userId }));
    const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
    // A message the AI owes, stored as a send stores it; its turn is kicked only once the database is gone.
    const sessions = t.app.get(SessionService);
    const { message } = await sessions.appendUserMessage(await sessions.find(sessionId), {
      senderId: userId,
      content: 'hello',
      clientMessageId: randomUUID(),
      owed: true,
    });
    await db.kill();
    t.app.get(TurnEngine).kick(sessionId);
    await waitFor(() => t.logs.lines.some((l) => String(l.msg).startsWith('AI turn loop failed')), {
      timeoutMs: 30_000,
      what: 'the turn to fail for want of a database',
    });

    await db.start();
    const end = await client.waitForEvent('ai:end', (e) => e.replyTo === message.id, 60_000);
    const { messages } = await client.ok<{ messages: { sender: string; replyTo?: string; content: string }[] }>(
      'session:resume',
      { sessionId, afterSeq: 0 },
    );
    expect(messages.filter((m) => m.sender === 'ai').map((m) => [m.replyTo, m.content])).toEqual([
      [message.id, DemoLlmProvider.replyTo([{ role: 'user', content: 'hello' }])],
    ]);
    expect(end).toMatchObject({ replyTo: message.id, finishReason: 'stop' });
  }, 120_000);
});
