import { randomUUID } from 'node:crypto';
import { DemoLlmProvider } from '../../src/llm/providers/demo-llm.provider';
import { SessionService } from '../../src/session/session.service';
import { OwnFerretDb, startOwnFerretDb } from '../servers/own-ferretdb';
import { ChatClient, signToken } from './chat-client';
import { startTestApp, TestApp } from './test-app';
import { waitFor } from './wait-for';

type Message = { id: string; sender: string; status: string; content: string };

/**
 * A user asks, the reply starts streaming, and the database goes away (killed) mid-reply. The
 * application runs in this process on a database of its own; its log lines are captured only for the
 * first application a test worker starts, so one scenario goes in a file of its own.
 */
export async function replyDuringOutage(env: Record<string, string>) {
  const db: OwnFerretDb = await startOwnFerretDb();
  const app: TestApp = await startTestApp({ MONGODB_URI: db.uri, DEMO_DELTA_INTERVAL_MS: '20', ...env });
  const client = await ChatClient.connect(
    app.baseUrl,
    await signToken(app.env.JWT_SECRET, { sub: `u-${randomUUID()}` }),
  );
  const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
  const { messageId: question } = await client.ok<{ messageId: string }>('message:send', {
    sessionId,
    clientMessageId: randomUUID(),
    content: 'hello',
  });
  const { messageId } = await client.waitForEvent('ai:delta');
  await db.kill();
  const reply = messageId as string;
  const answer = DemoLlmProvider.replyTo([{ role: 'user', content: 'hello' }]);
  return {
    db,
    app,
    client,
    reply,
    answer,
    /** The reply ends once, with ai:end, and is stored once, complete. */
    async expectStoredOnce(): Promise<void> {
      const end = await client.waitForEvent('ai:end', () => true, 30000);
      expect(end).toMatchObject({ messageId: reply, replyTo: question, finishReason: 'stop' });
      const { messages } = await client.ok<{ messages: Message[] }>('session:resume', { sessionId, afterSeq: 0 });
      expect(messages.filter((m) => m.sender === 'ai').map((m) => [m.id, m.status, m.content])).toEqual([
        [reply, 'complete', answer],
      ]);
      // Counted once the turn is over (its lease gone), so a late second event would be seen.
      await waitFor(async () => (await app.app.get(SessionService).turnLease(sessionId)) === null, {
        what: 'the turn to be over',
      });
      expect(client.named('ai:error')).toEqual([]);
      expect(client.named('ai:end')).toHaveLength(1);
    },
    async close(): Promise<void> {
      client.close();
      await app.close();
      await db.stop();
    },
  };
}
