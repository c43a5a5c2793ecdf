import { randomBytes, randomUUID } from 'node:crypto';
import mongoose, { Connection } from 'mongoose';
import { NotificationDeliveryDoc } from '../../src/notification/schemas/notification-delivery.schema';
import { HttpReceiver } from '../servers/http-receiver';
import { ChatClient, signToken } from '../utils/chat-client';
import { ChatboxProcess } from '../utils/chatbox-process';
import { testEnv } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

describe('notifications, on two service processes', () => {
  const hooks = new HttpReceiver();
  let env: Record<string, string>;
  let db: Connection;

  beforeAll(async () => {
    await hooks.start();
    env = testEnv({
      REDIS_URL: process.env.CHATBOX_TEST_REDIS_URL,
      WEBHOOK_URLS: `${hooks.baseUrl}/hooks`,
      WEBHOOK_SECRET: randomBytes(32).toString('base64'),
      NOTIFY_POLL_MS: '200',
      // Attempts are cut at 2 s: a replica that has just booted may answer slowly on a busy machine.
      NOTIFY_CLAIM_MS: '4000',
    });
    db = await mongoose.createConnection(env.MONGODB_URI).asPromise();
  });
  afterAll(async () => {
    await db.close();
    await hooks.stop();
  });

  it('delivers a notification whose replica was killed mid-attempt from the other replica, under the same id', async () => {
    const dying = new ChatboxProcess(env);
    let survivor: ChatboxProcess | undefined;
    try {
      const dyingUrl = await dying.listening();
      // The first attempt never gets an answer: the replica making it is killed while it waits.
      hooks.script({ hang: true });
      const client = await ChatClient.connect(dyingUrl, await signToken(env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
      const { sessionId } = await client.ok<{ sessionId: string }>('help:request', { reason: 'help' });
      client.close();
      await waitFor(() => hooks.requests.length === 1, { what: 'the first attempt' });
      // Killed at once, while its attempt waits (cut only after 2 s): it never records the attempt's end nor
      // makes another. The other replica starts only now, so the attempt in flight was surely the dying one's.
      dying.signal('SIGKILL');
      await dying.exited;
      survivor = new ChatboxProcess(env);
      await survivor.listening();

      const delivery = await waitFor(
        async () =>
          (await db
            .collection<NotificationDeliveryDoc>('notification_outbox')
            .findOne({ sessionId, channel: 'webhook', status: 'sent' })) ?? undefined,
        { timeoutMs: 15000, what: 'the other replica to deliver it' },
      );
      expect(hooks.requests).toHaveLength(2);
      expect(hooks.requests.map((r) => r.headers['chatbox-delivery'])).toEqual([delivery._id, delivery._id]);
      expect(delivery).toMatchObject({ attempts: 2, lastError: null });
    } finally {
      await Promise.all([dying.stop(), survivor?.stop()]);
    }
  });
});
