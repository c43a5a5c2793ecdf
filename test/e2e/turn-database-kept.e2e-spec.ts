import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { EmbeddedMongo, ensureFerretDb, startFerretDb } from '../../src/database/embedded-mongo';
import { DemoLlmProvider } from '../../src/llm/providers/demo-llm.provider';
import { TOOLS_DIR } from '../setup/test-env';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

type Message = { id: string; sender: string; status: string; content: string; replyTo?: string };

/** A database of its own, which the test stops and starts again on the same port and data. */
async function ownDatabase(): Promise<{ uri: string; stop(): Promise<void>; start(): Promise<void> }> {
  const binary = await ensureFerretDb(TOOLS_DIR);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'chatbox-db-fault-'));
  let server: EmbeddedMongo = await startFerretDb({ binary, dataDir });
  const { port } = server;
  return {
    uri: server.uri,
    stop: () => server.kill(),
    start: async () => {
      server = await startFerretDb({ binary, dataDir, port });
    },
  };
}

// One in-process application per file: its log lines are captured only for the first one a worker starts.
describe('a turn while the database is away', () => {
  let db: Awaited<ReturnType<typeof ownDatabase>>;
  let t: TestApp;
  let client: ChatClient;
  const answer = DemoLlmProvider.replyTo([{ role: 'user', content: 'hello' }]);

  const conversation = async (env: Record<string, string>) => {
    db = await ownDatabase();
    t = await startTestApp({ MONGODB_URI: db.uri, DEMO_DELTA_INTERVAL_MS: '20', ...env });
    client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
    const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
    const { messageId: question } = await client.ok<{ messageId: string }>('message:send', {
      sessionId,
      clientMessageId: randomUUID(),
      content: 'hello',
    });
    const { messageId } = await client.waitForEvent('ai:delta');
    await db.stop();
    return { sessionId, question, reply: messageId as string };
  };

  afterEach(async () => {
    client?.close();
    await t?.close();
    await db?.stop();
  });

  const expectStoredOnce = async (sessionId: string, question: string, reply: string) => {
    const end = await client.waitForEvent('ai:end', () => true, 30000);
    expect(end).toMatchObject({ messageId: reply, replyTo: question, finishReason: 'stop' });
    const { messages } = await client.ok<{ messages: Message[] }>('session:resume', { sessionId, afterSeq: 0 });
    expect(messages.filter((m) => m.sender === 'ai').map((m) => [m.id, m.status, m.content])).toEqual([
      [reply, 'complete', answer],
    ]);
    expect(client.named('ai:error')).toEqual([]);
    expect(client.named('ai:end')).toHaveLength(1);
  };

  it('keeps a reply it could not save within the lease, and stores it with its ai:end once the database is back', async () => {
    const { sessionId, question, reply } = await conversation({
      TURN_LEASE_MS: '3000',
      REDIS_URL: process.env.CHATBOX_TEST_REDIS_URL ?? '',
    });
    await waitFor(() => t.logs.lines.some((l) => l.msg === 'reply not saved: it is kept for the next attempt'), {
      timeoutMs: 20000,
      what: 'the save to give up',
    });
    expect(client.streamedText(reply)).toBe(answer);
    expect(client.named('ai:end')).toEqual([]);
    await db.start();
    await expectStoredOnce(sessionId, question, reply);
  }, 60000);
});
