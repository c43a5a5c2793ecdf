import { randomUUID } from 'node:crypto';
import { DemoLlmProvider } from '../../src/llm/providers/demo-llm.provider';
import { SessionService } from '../../src/session/session.service';
import { OwnFerretDb, startOwnFerretDb } from '../servers/own-ferretdb';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

type Message = { id: string; sender: string; status: string; content: string };

const LEASE_MS = 3000;

describe('a reply whose save outlives its lease', () => {
  let db: OwnFerretDb;
  let t: TestApp;
  let client: ChatClient;

  afterEach(async () => {
    client?.close();
    await db?.signal('SIGCONT').catch(() => undefined);
    await t?.close();
    await db?.stop();
  });

  it('is stored once and announced once, by its runner or by the replica that took the lease over', async () => {
    db = await startOwnFerretDb();
    t = await startTestApp({ MONGODB_URI: db.uri, DEMO_DELTA_INTERVAL_MS: '20', TURN_LEASE_MS: String(LEASE_MS) });
    client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
    const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
    await client.ok('message:send', { sessionId, clientMessageId: randomUUID(), content: 'hello' });
    const { messageId } = await client.waitForEvent('ai:delta');
    // The database freezes (as in a long election): the reply finishes streaming, and its save, the lease
    // renewals and the recovery scan all wait until the lease has long expired.
    await db.signal('SIGSTOP');
    const answer = DemoLlmProvider.replyTo([{ role: 'user', content: 'hello' }]);
    await waitFor(() => client.streamedText(messageId as string) === answer, { what: 'the reply to finish streaming' });
    const expired = Date.now() + LEASE_MS;
    await waitFor(() => Date.now() > expired, { timeoutMs: LEASE_MS * 2, what: 'the lease to run out' });
    await db.signal('SIGCONT');

    const end = await client.waitForEvent('ai:end', () => true, 30000);
    const { messages } = await waitFor(
      async () => {
        const page = await client.ok<{ messages: Message[] }>('session:resume', { sessionId, afterSeq: 0 });
        return page.messages.some((m) => m.sender === 'ai') && page;
      },
      { what: 'the reply to be stored' },
    );
    expect(messages.filter((m) => m.sender === 'ai').map((m) => [m.id, m.status, m.content])).toEqual([
      [messageId, 'complete', answer],
    ]);
    expect(end).toMatchObject({ messageId, finishReason: 'stop' });
    // Whoever lost the race has finished by the time the lease is gone; then count what clients heard.
    await waitFor(async () => (await t.app.get(SessionService).turnLease(sessionId)) === null, {
      what: 'the lease to end',
    });
    expect(client.named('ai:end')).toHaveLength(1);
    expect(client.named('ai:error')).toEqual([]);
  }, 60000);
});
