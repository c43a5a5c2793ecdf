import { createHmac, randomUUID } from 'node:crypto';
import mongoose, { Connection } from 'mongoose';
import { NotificationService } from '../../src/notification/notification.service';
import { NotificationDeliveryDoc } from '../../src/notification/schemas/notification-delivery.schema';
import { FakeLlmServer } from '../servers/fake-llm-server';
import { HttpReceiver } from '../servers/http-receiver';
import { SmtpReceiver } from '../servers/smtp-receiver';
import { AdminClient } from '../utils/admin-client';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

const WEBHOOK_SECRET = 'w'.repeat(16) + randomUUID();
/** Long enough for a test to take the session before the escalation falls due, even on a busy machine. */
const ESCALATE_AFTER_MS = 3000;

/** The README's recipe: `t=<seconds>,v1=<hex HMAC-SHA256 over "<t>.<raw body>">`. */
function verified(signature: string | undefined, rawBody: string): boolean {
  const fields = new Map((signature ?? '').split(',').map((kv) => kv.split('=') as [string, string]));
  const expected = createHmac('sha256', WEBHOOK_SECRET)
    .update(`${fields.get('t')}.${rawBody}`)
    .digest('hex');
  return fields.get('v1') === expected;
}

/** The email channel, to a local SMTP receiver. */
const emailEnv = (smtp: SmtpReceiver, to = 'ann@example.test') => ({
  SMTP_URL: smtp.url,
  MAIL_FROM: 'chatbox@example.test',
  ADMIN_EMAILS: to,
});
/** The SMS channel, to a local receiver that speaks for the Twilio API. */
const smsEnv = (sms: HttpReceiver) => ({
  SMS_API_URL: sms.baseUrl,
  SMS_ACCOUNT_SID: 'AC123',
  SMS_AUTH_TOKEN: 'sms-token',
  SMS_FROM: '+15550000000',
  ADMIN_PHONES: '+15551112222',
});

describe('notifications', () => {
  const smtp = new SmtpReceiver();
  const hooks = new HttpReceiver();
  const sms = new HttpReceiver();
  let t: TestApp;
  let db: Connection;
  const clients: { close(): void }[] = [];

  beforeAll(async () => {
    await Promise.all([smtp.start(), hooks.start(), sms.start()]);
    t = await startTestApp({
      ...emailEnv(smtp, 'ann@example.test,bob@example.test'),
      ADMIN_CONSOLE_URL: 'https://console.example.test',
      WEBHOOK_URLS: `${hooks.baseUrl}/hooks/chatbox`,
      WEBHOOK_SECRET,
      ...smsEnv(sms),
      HELP_ESCALATION: 'email,sms',
      HELP_ESCALATE_AFTER_MS: String(ESCALATE_AFTER_MS),
      NOTIFY_POLL_MS: '50',
      NOTIFY_RETRY_BASE_MS: '50',
      NOTIFY_RETRY_MAX_MS: '200',
      NOTIFY_MIN_INTERVAL_MS: '600000',
    });
    db = await mongoose.createConnection(t.env.MONGODB_URI).asPromise();
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await db.close();
    await t.close();
    await Promise.all([smtp.stop(), hooks.stop(), sms.stop()]);
  });

  const user = async () => {
    const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
    clients.push(client);
    return client;
  };
  const outbox = (sessionId: string) =>
    db.collection<NotificationDeliveryDoc>('notification_outbox').find({ sessionId }).toArray();
  const hooksFor = (sessionId: string) =>
    hooks.requests.filter(
      (r) => (JSON.parse(r.rawBody) as { data: { sessionId?: string } }).data.sessionId === sessionId,
    );
  const mailsFor = (sessionId: string) => smtp.messages.filter((m) => m.text?.includes(sessionId));
  const smsFor = (sessionId: string) => sms.requests.filter((r) => decodeURIComponent(r.rawBody).includes(sessionId));

  it('tells admins of a help request by email, with the reason escaped and a console link, and by a signed webhook', async () => {
    const client = await user();
    const reason = '<img src=x onerror=alert(1)> & my card';
    const { sessionId } = await client.ok<{ sessionId: string }>('help:request', { reason });

    const [mail] = await waitFor(() => (mailsFor(sessionId).length > 0 ? mailsFor(sessionId) : undefined), {
      what: 'the email',
    });
    expect(mail.envelope.to.sort()).toEqual(['ann@example.test', 'bob@example.test']);
    expect(mail.html).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; my card');
    expect(mail.html).not.toContain('<img');
    expect(mail.html).toContain(`https://console.example.test/sessions/${sessionId}`);
    expect(mail.text).toContain(reason);

    const [hook] = await waitFor(() => (hooksFor(sessionId).length > 0 ? hooksFor(sessionId) : undefined), {
      what: 'the webhook',
    });
    expect(verified(hook.headers['chatbox-signature'] as string, hook.rawBody)).toBe(true);
    const body = JSON.parse(hook.rawBody) as { id: string; event: string; data: Record<string, unknown> };
    expect(body).toMatchObject({ event: 'help.requested', data: { sessionId, source: 'user', reason } });
    expect(hook.headers['chatbox-delivery']).toBe(body.id);
    // SMS is the escalation's next step, not the first message; it is stored right after the first ones.
    const stored = await waitFor(
      async () => {
        const all = await outbox(sessionId);
        return all.some((d) => d.channel === 'sms') ? all : undefined;
      },
      { what: 'the escalation to be stored' },
    );
    expect(
      stored
        .filter((d) => d.event === 'help.requested')
        .map((d) => d.channel)
        .sort(),
    ).toEqual(['email', 'webhook']);
    expect(stored.filter((d) => d.channel === 'sms').map((d) => [d.event, new Date(d.dueAt).getTime()])).toEqual([
      ['help.escalated', new Date(body.data.requestedAt as string).getTime() + ESCALATE_AFTER_MS],
    ]);
  });

  it('sends at most one notification per channel for a burst of requests in one session', async () => {
    const client = await user();
    const { sessionId } = await client.ok<{ sessionId: string }>('help:request', { reason: 'first' });
    for (let i = 0; i < 9; i++) {
      await client.ok('help:cancel', { sessionId });
      await client.ok('help:request', { sessionId, reason: `again ${i}` });
    }
    // The last request's escalation is stored after its help.requested raise: every raise has been made.
    const session = await db
      .collection<{ _id: string; help: { requestedAt: Date } }>('chat_sessions')
      .findOne({ _id: sessionId });
    const lastRequestedAt = new Date(session!.help.requestedAt).toISOString();
    await waitFor(
      async () =>
        (await outbox(sessionId)).some((d) => d.event === 'help.escalated' && d.data.requestedAt === lastRequestedAt),
      { what: "the last request's raise" },
    );
    await waitFor(
      async () => {
        const requested = (await outbox(sessionId)).filter((d) => d.event === 'help.requested');
        return requested.length > 0 && requested.every((d) => d.status !== 'pending');
      },
      { what: 'the help notifications to be delivered' },
    );
    const requested = (await outbox(sessionId)).filter((d) => d.event === 'help.requested');
    expect(requested.map((d) => [d.channel, d.status]).sort()).toEqual([
      ['email', 'sent'],
      ['webhook', 'sent'],
    ]);
    expect(mailsFor(sessionId)).toHaveLength(1);
    expect(hooksFor(sessionId)).toHaveLength(1);
  });

  it('escalates a request nobody took on the next channel, by SMS without the user text beyond the reason', async () => {
    const client = await user();
    const { sessionId } = await client.ok<{ sessionId: string }>('help:request', { reason: 'x'.repeat(300) });
    const [text] = await waitFor(() => (smsFor(sessionId).length > 0 ? smsFor(sessionId) : undefined), {
      timeoutMs: 10000,
      what: 'the SMS escalation',
    });
    const form = new URLSearchParams(text.rawBody);
    expect(text.path).toBe('/2010-04-01/Accounts/AC123/Messages.json');
    expect(text.headers.authorization).toBe(`Basic ${Buffer.from('AC123:sms-token').toString('base64')}`);
    expect(form.get('To')).toBe('+15551112222');
    expect((form.get('Body') ?? '').length).toBeLessThanOrEqual(300);
    expect(form.get('Body')).not.toContain('x'.repeat(100));
    const escalated = await waitFor(
      async () => (await outbox(sessionId)).find((d) => d.event === 'help.escalated' && d.status !== 'pending'),
      { what: 'the escalation to be recorded' },
    );
    expect(escalated).toMatchObject({ channel: 'sms', status: 'sent' });
  });

  it('cancels the escalation when an admin takes the session before it is due', async () => {
    const client = await user();
    const { sessionId } = await client.ok<{ sessionId: string }>('help:request', { reason: 'please' });
    await waitFor(async () => (await outbox(sessionId)).some((d) => d.event === 'help.escalated'), {
      what: 'the escalation to be scheduled',
    });
    const admin = new AdminClient(
      t.baseUrl,
      await signToken(t.env.JWT_SECRET, { sub: `a-${randomUUID()}`, name: 'Ann', roles: ['admin'] }),
    );
    clients.push(admin);
    await admin.connected();
    await admin.ok('admin:join', { sessionId });
    const escalation = await waitFor(
      async () => (await outbox(sessionId)).find((d) => d.event === 'help.escalated' && d.status !== 'pending'),
      { what: 'the escalation to end' },
    );
    expect(escalation.status).toBe('cancelled');
    // Cancelled by the takeover itself, not merely found moot when it fell due.
    expect(new Date(escalation.endedAt!).getTime()).toBeLessThan(new Date(escalation.dueAt).getTime());
    expect(smsFor(sessionId)).toEqual([]);
    await waitFor(() => hooksFor(sessionId).length > 0, { what: 'the help webhook' });
  });

  it('retries a webhook that fails twice with the same delivery id, and delivers it once', async () => {
    hooks.script({ status: 500 }, { status: 500 });
    const client = await user();
    const { sessionId } = await client.ok<{ sessionId: string }>('help:request', { reason: 'retry me' });
    const delivery = await waitFor(
      async () => (await outbox(sessionId)).find((d) => d.channel === 'webhook' && d.status !== 'pending'),
      { what: 'the webhook to be delivered' },
    );
    expect(delivery).toMatchObject({ status: 'sent', attempts: 3 });
    const attempts = hooksFor(sessionId);
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((r) => r.headers['chatbox-delivery']))).toEqual(new Set([delivery._id]));
  });
});

describe('provider notifications', () => {
  const fake = new FakeLlmServer();
  const hooks = new HttpReceiver();
  let t: TestApp;

  beforeAll(async () => {
    await Promise.all([fake.start(), hooks.start()]);
    t = await startTestApp({
      LLM_MODELS: JSON.stringify([
        { id: 'gpt', provider: 'openai', model: 'gpt-fake', baseUrl: `${fake.baseUrl}/v1`, apiKey: 'k' },
      ]),
      LLM_MAX_RETRIES: '0',
      LLM_BREAKER_FAILURES: '2',
      LLM_BREAKER_COOLDOWN_MS: '30000',
      WEBHOOK_URLS: `${hooks.baseUrl}/hooks`,
      WEBHOOK_SECRET,
      NOTIFY_POLL_MS: '50',
    });
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([fake.stop(), hooks.stop()]);
  });

  const events = () => hooks.requests.map((r) => (JSON.parse(r.rawBody) as { event: string }).event);

  it('tells once that a provider is down when its circuit opens, and once that it recovered', async () => {
    const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
    try {
      const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
      const ask = async (content: string) => {
        const { messageId } = await client.ok<{ messageId: string }>('message:send', {
          sessionId,
          clientMessageId: randomUUID(),
          content,
        });
        // The turn's one terminal event: ai:end, or ai:error while the provider fails.
        return waitFor(
          () =>
            client.events.find(
              (e) => (e.event === 'ai:end' || e.event === 'ai:error') && e.payload.replyTo === messageId,
            ),
          { what: 'the turn to end' },
        );
      };
      fake.script('openai', { kind: 'status', status: 500 }, { kind: 'status', status: 500 });
      await ask('one');
      await ask('two');
      // Open: further turns fail fast without reaching the provider, and raise nothing new.
      await ask('three');
      await waitFor(() => events().includes('provider.down'), { what: 'the provider.down webhook' });
      // After the cooldown one trial goes through, succeeds, and closes the circuit.
      await waitFor(
        async () => {
          const reply = await ask('are you back?');
          return reply.event === 'ai:end';
        },
        { timeoutMs: 45000, intervalMs: 2000, what: 'the circuit to close' },
      );
      await waitFor(() => events().includes('provider.recovered'), { what: 'the provider.recovered webhook' });
      expect(events().filter((e) => e === 'provider.down')).toHaveLength(1);
      expect(events().filter((e) => e === 'provider.recovered')).toHaveLength(1);
    } finally {
      client.close();
    }
  }, 90000);
});

describe('notifications between polls', () => {
  const hooks = new HttpReceiver();
  let t: TestApp;

  beforeAll(async () => {
    await hooks.start();
    // Polled every ten minutes: only the replica raising the event can deliver it within the test.
    t = await startTestApp({ WEBHOOK_URLS: `${hooks.baseUrl}/hooks`, WEBHOOK_SECRET, NOTIFY_POLL_MS: '600000' });
  });
  afterAll(async () => {
    await t.close();
    await hooks.stop();
  });

  it('delivers a help request at once from the replica that raised it, not at the next poll', async () => {
    const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
    try {
      const { sessionId } = await client.ok<{ sessionId: string }>('help:request', { reason: 'now please' });
      const [hook] = await waitFor(() => (hooks.requests.length > 0 ? hooks.requests : undefined), {
        what: 'the webhook',
      });
      expect(JSON.parse(hook.rawBody)).toMatchObject({ event: 'help.requested', data: { sessionId } });
    } finally {
      client.close();
    }
  });

  it('raises an event at most once per NOTIFY_MIN_INTERVAL_MS, even right across the edge of its window', async () => {
    const notifications = t.app.get(NotificationService);
    const interval = 300000; // the default
    const edge = (Math.floor(Date.now() / interval) - 5) * interval;
    const key = `edge-${randomUUID()}`;
    const raise = (at: number) =>
      notifications.raise({ event: 'rate_limit.abnormal', key, data: { detail: 'edge' }, occurredAt: new Date(at) });

    expect(await raise(edge - 1)).toHaveLength(1);
    expect(await raise(edge + 1)).toEqual([]);
    expect(await raise(edge + interval - 2)).toEqual([]);
    expect(await raise(edge + interval - 1)).toHaveLength(1);
  });
});

describe('notification attempts', () => {
  const smtp = new SmtpReceiver();
  const hooks = new HttpReceiver();
  let t: TestApp;
  let db: Connection;

  beforeAll(async () => {
    await Promise.all([smtp.start(), hooks.start()]);
    t = await startTestApp({
      ...emailEnv(smtp),
      WEBHOOK_URLS: `${hooks.baseUrl}/hooks`,
      WEBHOOK_SECRET,
      NOTIFY_POLL_MS: '50',
      // Attempts are cut at half of it: 3 s, well before the webhook's own 10 s timeout.
      NOTIFY_CLAIM_MS: '6000',
      NOTIFY_RETRY_BASE_MS: '1000',
      NOTIFY_RETRY_MAX_MS: '1000',
    });
    db = await mongoose.createConnection(t.env.MONGODB_URI).asPromise();
  });
  afterAll(async () => {
    await db.close();
    await t.close();
    await Promise.all([smtp.stop(), hooks.stop()]);
  });

  const webhookOf = (sessionId: string) =>
    db.collection<NotificationDeliveryDoc>('notification_outbox').findOne({ sessionId, channel: 'webhook' });
  const askForHelp = async () => {
    const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
    try {
      return (await client.ok<{ sessionId: string }>('help:request', { reason: 'help' })).sessionId;
    } finally {
      client.close();
    }
  };

  it('cuts an attempt that hangs at half of NOTIFY_CLAIM_MS and retries it, so no other claim overlaps it', async () => {
    hooks.script({ hang: true });
    const sessionId = await askForHelp();

    // The retry waits a second: the first attempt's outcome can be read before it.
    const afterFirst = await waitFor(
      async () => {
        const delivery = await webhookOf(sessionId);
        return delivery && delivery.attempts >= 1 ? delivery : undefined;
      },
      { what: 'the first attempt to end' },
    );
    expect(afterFirst).toMatchObject({ status: 'pending', attempts: 1 });
    // Cut by its own deadline, not given up as a replica's that stopped.
    expect(afterFirst.lastError).toMatch(
      /^webhook 1 \(http:\/\/127\.0\.0\.1:\d+\) timed out: the attempt ran out of time$/,
    );
    const sent = await waitFor(
      async () => {
        const delivery = await webhookOf(sessionId);
        return delivery?.status === 'sent' ? delivery : undefined;
      },
      { what: 'the retry to deliver it' },
    );
    expect(sent.attempts).toBe(2);
  });

  it('sends an email while a webhook attempt of another notification hangs', async () => {
    hooks.script({ hang: true });
    const stuck = await askForHelp();
    await waitFor(() => hooks.requests.some((r) => r.rawBody.includes(stuck)), { what: 'the hanging webhook' });

    const next = await askForHelp();
    await waitFor(() => smtp.messages.some((m) => m.text?.includes(next)), { what: "the other session's email" });
    expect(await webhookOf(stuck)).toMatchObject({ status: 'pending', attempts: 0 });
    await waitFor(async () => (await webhookOf(stuck))?.status === 'sent', {
      what: 'the hanging webhook to be retried',
    });
  });
});

describe('help requests whose notifications were never stored', () => {
  const hooks = new HttpReceiver();
  let db: Connection;
  const apps: TestApp[] = [];

  beforeAll(() => hooks.start());
  afterAll(async () => {
    await db?.close();
    await Promise.all(apps.map((a) => a.close()));
    await hooks.stop();
  });

  it('are notified by a replica that boots later: it sweeps the open requests', async () => {
    const env = { WEBHOOK_URLS: `${hooks.baseUrl}/hooks`, WEBHOOK_SECRET, NOTIFY_POLL_MS: '600000' };
    const first = await startTestApp(env);
    apps.push(first);
    db = await mongoose.createConnection(first.env.MONGODB_URI).asPromise();
    const outbox = db.collection<NotificationDeliveryDoc>('notification_outbox');
    const client = await ChatClient.connect(
      first.baseUrl,
      await signToken(first.env.JWT_SECRET, { sub: `u-${randomUUID()}`, name: 'Zoë' }),
    );
    const { sessionId } = await client.ok<{ sessionId: string }>('help:request', { reason: 'lost?' });
    client.close();
    await waitFor(() => hooks.requests.length === 1, { what: 'the first replica to notify' });
    await first.close();
    // As if the replica had died between opening the request and storing its notification.
    await outbox.deleteMany({ sessionId });
    hooks.reset();

    apps.push(
      await startTestApp({
        ...env,
        MONGODB_URI: first.env.MONGODB_URI,
        JWT_SECRET: first.env.JWT_SECRET,
        ENCRYPTION_KEY: first.env.ENCRYPTION_KEY,
      }),
    );

    const [hook] = await waitFor(() => (hooks.requests.length > 0 ? hooks.requests : undefined), {
      what: 'the sweep to notify',
    });
    expect(JSON.parse(hook.rawBody)).toMatchObject({
      event: 'help.requested',
      data: { sessionId, userName: 'Zoë', source: 'user', reason: 'lost?' },
    });
    expect(await outbox.countDocuments({ sessionId })).toBe(1);
  });
});

describe('rate-limit notifications', () => {
  const hooks = new HttpReceiver();
  let t: TestApp;
  let db: Connection;

  beforeAll(async () => {
    await hooks.start();
    t = await startTestApp({
      WEBHOOK_URLS: `${hooks.baseUrl}/hooks`,
      WEBHOOK_SECRET,
      HANDSHAKE_RATE_LIMIT_PER_MINUTE: '2',
      RATE_LIMIT_ALERT_PERCENT: '90',
      RATE_LIMIT_ALERT_MIN_REFUSALS: '5',
    });
    db = await mongoose.createConnection(t.env.MONGODB_URI).asPromise();
  });
  afterAll(async () => {
    await db.close();
    await t.close();
    await hooks.stop();
  });

  const handshake = () => fetch(`${t.baseUrl}/chatbox/socket.io/?EIO=4&transport=polling`).then((r) => r.text());

  it('tells once when refusals reach RATE_LIMIT_ALERT_PERCENT of the decisions, and not before', async () => {
    // 2 handshakes pass, then every one is refused: the 18th refusal is the first at 90% (18 of 20).
    for (let i = 0; i < 40; i++) await handshake();

    const [hook] = await waitFor(() => (hooks.requests.length > 0 ? hooks.requests : undefined), {
      what: 'the rate_limit.abnormal webhook',
    });
    expect(JSON.parse(hook.rawBody)).toMatchObject({
      event: 'rate_limit.abnormal',
      data: {
        detail: '18 of 20 rate-limit decisions (90%) refused in the last 60 s on one replica (handshakes: 18)',
      },
    });
    expect(
      await db
        .collection<NotificationDeliveryDoc>('notification_outbox')
        .countDocuments({ event: 'rate_limit.abnormal' }),
    ).toBe(1);
  });
});

describe('the rate limit of notifications, with Redis', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ REDIS_URL: process.env.CHATBOX_TEST_REDIS_URL, NOTIFY_POLL_MS: '600000' });
  });
  afterAll(() => t.close());

  it('lets one raise through per NOTIFY_MIN_INTERVAL_MS even when a later window is stored before an earlier one', async () => {
    const notifications = t.app.get(NotificationService);
    const interval = 300000;
    const edge = (Math.floor(Date.now() / interval) - 5) * interval;
    const key = `order-${randomUUID()}`;
    const raise = (at: number) =>
      notifications.raise({ event: 'provider.down', key, data: { provider: 'openai' }, occurredAt: new Date(at) });

    // Two replicas raising right across a window's edge, the later one's store landing first: the earlier
    // window's document is not there yet to stop it, and the earlier one finds no later document to look at.
    expect(await raise(edge + 1)).toHaveLength(1);
    expect(await raise(edge - 1)).toEqual([]);
  });
});

describe('a help request with every channel and no escalation', () => {
  const smtp = new SmtpReceiver();
  const hooks = new HttpReceiver();
  const sms = new HttpReceiver();
  let t: TestApp;
  let db: Connection;

  beforeAll(async () => {
    await Promise.all([smtp.start(), hooks.start(), sms.start()]);
    t = await startTestApp({
      ...emailEnv(smtp),
      WEBHOOK_URLS: `${hooks.baseUrl}/hooks`,
      WEBHOOK_SECRET,
      ...smsEnv(sms),
    });
    db = await mongoose.createConnection(t.env.MONGODB_URI).asPromise();
  });
  afterAll(async () => {
    await db.close();
    await t.close();
    await Promise.all([smtp.stop(), hooks.stop(), sms.stop()]);
  });

  it('produces one email, one SMS and one signed webhook', async () => {
    const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
    try {
      const { sessionId } = await client.ok<{ sessionId: string }>('help:request', { reason: '<b>now</b>' });
      const outbox = db.collection<NotificationDeliveryDoc>('notification_outbox');
      const ended = await waitFor(
        async () => {
          const all = await outbox.find({ sessionId }).toArray();
          return all.length === 3 && all.every((d) => d.status !== 'pending') ? all : undefined;
        },
        { what: 'the three deliveries to end' },
      );
      expect(ended.map((d) => [d.event, d.channel, d.status]).sort()).toEqual([
        ['help.requested', 'email', 'sent'],
        ['help.requested', 'sms', 'sent'],
        ['help.requested', 'webhook', 'sent'],
      ]);
      expect(smtp.messages).toHaveLength(1);
      expect(smtp.messages[0].html).toContain('&lt;b&gt;now&lt;/b&gt;');
      expect(sms.requests).toHaveLength(1);
      expect(hooks.requests).toHaveLength(1);
      expect(verified(hooks.requests[0].headers['chatbox-signature'] as string, hooks.requests[0].rawBody)).toBe(true);
    } finally {
      client.close();
    }
  });
});
