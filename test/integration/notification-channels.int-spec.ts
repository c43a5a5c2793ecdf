import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, Socket } from 'node:net';
import { EmailChannel } from '../../src/notification/channels/email.channel';
import { SmsChannel } from '../../src/notification/channels/sms.channel';
import { WebhookChannel } from '../../src/notification/channels/webhook.channel';
import { ChannelError, Notification } from '../../src/notification/notification-channel';
import { NotificationConfig, parseNotificationConfig } from '../../src/notification/notification-config';
import { HttpReceiver } from '../servers/http-receiver';
import { SmtpReceiver } from '../servers/smtp-receiver';
import { waitFor } from '../utils/wait-for';

const SESSION_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const XSS = '<img src=x onerror=alert(1)>';
const ADMINS = ['alice@example.com', 'bob@example.org'];
const SECRET = 'whsec-0123456789abcdef0123456789abcdef';
const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'sms-auth-token-value';
const PHONES = ['+14155550100', '+447700900123'];

const helpRequested = (data: Partial<Notification['data']> = {}, id = 'help.requested:s1:0:email'): Notification => ({
  id,
  event: 'help.requested',
  occurredAt: new Date('2026-11-24T10:00:00.000Z'),
  data: { sessionId: SESSION_ID, userId: 'u-42', userName: 'Alice', source: 'user', reason: XSS, ...data },
});

function configFrom(env: Record<string, string>): NotificationConfig {
  const problems: string[] = [];
  const config = parseNotificationConfig(env, problems);
  expect(problems).toEqual([]);
  return config;
}

async function sendError(promise: Promise<void>): Promise<ChannelError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ChannelError);
  return error as ChannelError;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The README's recipe, as a receiver would write it: recompute the HMAC over `${t}.${rawBody}`, refuse old times. */
function verifyChatboxSignature(secret: string, header: string, rawBody: string, now = Date.now() / 1000): boolean {
  const parts = Object.fromEntries(
    header.split(',').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]),
  );
  if (!/^\d+$/.test(parts.t ?? '') || Math.abs(now - Number(parts.t)) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${parts.t}.${rawBody}`).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe(EmailChannel.name, () => {
  const smtp = new SmtpReceiver();
  const channels: EmailChannel[] = [];
  const signal = new AbortController().signal;

  const channelFor = (extra: Record<string, string> = {}, url = smtp.url) => {
    const config = configFrom({
      SMTP_URL: url,
      MAIL_FROM: 'Chatbox <chatbox@example.com>',
      ADMIN_EMAILS: ADMINS.join(', '),
      ...extra,
    });
    const channel = new EmailChannel(config.email!, config.adminConsoleUrl);
    channels.push(channel);
    return channel;
  };

  beforeAll(() => smtp.start());
  afterEach(() => smtp.reset());
  afterAll(async () => {
    channels.forEach((c) => c.close());
    await smtp.stop();
  });

  it('sends one email to every ADMIN_EMAILS address, the reason escaped in HTML, with a link to the session', async () => {
    const sut = channelFor({ ADMIN_CONSOLE_URL: 'https://admin.example.com/console/' });

    await sut.send(helpRequested(), signal);

    expect(smtp.messages).toHaveLength(1);
    const [mail] = smtp.messages;
    expect(mail.envelope).toEqual({ from: 'chatbox@example.com', to: ADMINS });
    expect(mail.message.headers.get('to')).toEqual([ADMINS.join(', ')]);
    expect(mail.subject).toBe('[Chatbox] Help requested by Alice');
    expect(mail.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(mail.html).not.toContain('<img');
    expect(mail.text).toContain(`Reason: ${XSS}`);
    const link = `https://admin.example.com/console/sessions/${SESSION_ID}`;
    expect(mail.html).toContain(`<a href="${link}">`);
    expect(mail.text).toContain(link);
  });

  it('puts no link in the email when ADMIN_CONSOLE_URL is not set', async () => {
    const sut = channelFor();

    await sut.send(helpRequested(), signal);

    const [mail] = smtp.messages;
    expect(mail.html).toContain(SESSION_ID);
    expect(mail.html).not.toContain('<a ');
    expect(`${mail.text}${mail.html}`).not.toContain('/sessions/');
  });

  it('keeps a user name with line breaks in one Subject header', async () => {
    const sut = channelFor();

    await sut.send(helpRequested({ userName: 'Eve\r\nBcc: attacker@evil.test\u2028X-Injected: 1\n' }), signal);

    const [mail] = smtp.messages;
    expect(mail.headerLines.filter((line) => /^subject:/i.test(line))).toHaveLength(1);
    expect(mail.headerLines.filter((line) => /^(bcc|x-injected):/i.test(line))).toEqual([]);
    expect(mail.envelope.to).toEqual(ADMINS);
    expect(mail.subject).toBe('[Chatbox] Help requested by Eve Bcc: attacker@evil.test X-Injected: 1');
  });

  it('logs in with the user name and password of SMTP_URL', async () => {
    const sut = channelFor({}, `smtp://mailer%40example.com:p%40ss@127.0.0.1:${smtp.port}`);

    await sut.send(helpRequested(), signal);

    expect(smtp.logins).toEqual([{ username: 'mailer@example.com', password: 'p@ss' }]);
    expect(smtp.messages).toHaveLength(1);
  });

  it('fails retryably when the server answers 451, and delivers on the next attempt', async () => {
    const sut = channelFor();
    smtp.reject({ code: 451, message: 'Try again later' });

    const error = await sendError(sut.send(helpRequested(), signal));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('451');
    expect(smtp.messages).toHaveLength(0);

    await sut.send(helpRequested(), signal);
    expect(smtp.messages).toHaveLength(1);
  });

  it('fails for good when the server answers 550', async () => {
    const sut = channelFor();
    smtp.reject({ code: 550, message: 'Mailbox unavailable' });

    const error = await sendError(sut.send(helpRequested(), signal));

    expect(error.retryable).toBe(false);
    expect(error.message).toContain('550');
  });

  it('fails retryably when the server cannot be reached', async () => {
    const sut = channelFor({}, `smtp://127.0.0.1:${await closedPort()}`);

    const error = await sendError(sut.send(helpRequested(), signal));

    expect(error.retryable).toBe(true);
  });

  it('ends the attempt retryably when its signal fires though the server never greets (nodemailer honours it)', async () => {
    const held = new Set<Socket>();
    const silent = createServer((socket) => held.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as { port: number };
      const sut = channelFor({}, `smtp://127.0.0.1:${port}`);

      const error = await sendError(sut.send(helpRequested(), AbortSignal.timeout(300)));

      expect(error.retryable).toBe(true);
      expect(error.message).toMatch(/aborted/);
    } finally {
      held.forEach((socket) => socket.destroy());
      silent.close();
    }
  });
});

describe(SmsChannel.name, () => {
  const api = new HttpReceiver();
  const signal = new AbortController().signal;
  let sut: SmsChannel;

  beforeAll(async () => {
    await api.start();
    const config = configFrom({
      SMS_API_URL: `${api.baseUrl}/`,
      SMS_ACCOUNT_SID: SID,
      SMS_AUTH_TOKEN: TOKEN,
      SMS_FROM: '+15005550006',
      ADMIN_PHONES: PHONES.join(','),
    });
    sut = new SmsChannel(config.sms!);
  });
  afterEach(() => api.reset());
  afterAll(() => api.stop());

  it('posts one message per phone as Twilio expects, with Basic auth and a short body', async () => {
    const reason = `Please call me back ${'about my order '.repeat(30)}`;

    await sut.send(helpRequested({ reason, userName: 'Mallory Privatename' }), signal);

    expect(api.requests).toHaveLength(2);
    const basic = `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`;
    for (const request of api.requests) {
      expect(request.method).toBe('POST');
      expect(request.path).toBe(`/2010-04-01/Accounts/${SID}/Messages.json`);
      expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(request.headers.authorization).toBe(basic);
    }
    const forms = api.requests.map((r) => new URLSearchParams(r.rawBody));
    expect(forms.map((f) => [...f.keys()].sort())).toEqual([
      ['Body', 'From', 'To'],
      ['Body', 'From', 'To'],
    ]);
    expect(forms.map((f) => f.get('To')).sort()).toEqual([...PHONES].sort());
    const body = forms[0].get('Body') ?? '';
    expect(forms.map((f) => f.get('From'))).toEqual(['+15005550006', '+15005550006']);
    expect(forms[1].get('Body')).toBe(body);
    expect(body.length).toBeLessThanOrEqual(300);
    expect(body).toContain(reason.slice(0, 70));
    expect(body).not.toContain(reason.slice(0, 90));
    expect(body).not.toContain('Mallory');
  });

  it('fails retryably when the API answers 500', async () => {
    api.script({ status: 500 }, { status: 500 });

    const error = await sendError(sut.send(helpRequested(), signal));

    expect(error.retryable).toBe(true);
    expect(error.message).toContain('500');
  });

  it('fails for good when the API refuses the message with 400', async () => {
    const refusal = JSON.stringify({ code: 21211, message: "The 'To' number is not valid.", status: 400 });
    api.script({ status: 400, body: refusal }, { status: 400, body: refusal });

    const error = await sendError(sut.send(helpRequested(), signal));

    expect(error.retryable).toBe(false);
    expect(error.message).toContain('21211');
    expect(error.message).not.toContain(TOKEN);
  });
});

describe(WebhookChannel.name, () => {
  const receiver = new HttpReceiver();
  const signal = new AbortController().signal;
  let config: NotificationConfig;

  const channel = (overrides: Partial<NonNullable<NotificationConfig['webhook']>> = {}) =>
    new WebhookChannel({ ...config.webhook!, ...overrides });

  beforeAll(async () => {
    await receiver.start();
    config = configFrom({ WEBHOOK_URLS: `${receiver.baseUrl}/hooks/chatbox`, WEBHOOK_SECRET: SECRET });
  });
  afterEach(() => receiver.reset());
  afterAll(() => receiver.stop());

  it('posts signed JSON that the receiver verifies with the README recipe', async () => {
    const notification = helpRequested({}, 'help.requested:s1:7:webhook');

    await channel().send(notification, signal);

    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/hooks/chatbox');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['chatbox-delivery']).toBe(notification.id);
    expect(JSON.parse(request.rawBody)).toEqual({
      id: notification.id,
      event: 'help.requested',
      occurredAt: '2026-11-24T10:00:00.000Z',
      data: notification.data,
    });
    const signature = String(request.headers['chatbox-signature']);
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyChatboxSignature(SECRET, signature, request.rawBody)).toBe(true);
    expect(verifyChatboxSignature(SECRET, signature, request.rawBody.replace('Alice', 'Alicf'))).toBe(false);
    expect(verifyChatboxSignature('another-secret-another-secret-xx', signature, request.rawBody)).toBe(false);
    expect(verifyChatboxSignature(SECRET, signature, request.rawBody, Date.now() / 1000 + 301)).toBe(false);
  });

  it('posts to every WEBHOOK_URLS entry', async () => {
    const sut = channel({ urls: [`${receiver.baseUrl}/a`, `${receiver.baseUrl}/b?token=x`] });

    await sut.send(helpRequested(), signal);

    expect(receiver.requests.map((r) => r.path).sort()).toEqual(['/a', '/b?token=x']);
  });

  it.each([500, 503, 408, 429])('fails retryably when the receiver answers %i', async (status) => {
    receiver.script({ status });

    const error = await sendError(channel().send(helpRequested(), signal));

    expect(error.retryable).toBe(true);
    expect(error.message).toContain(String(status));
  });

  it.each([400, 401, 404, 410])('fails for good when the receiver answers %i', async (status) => {
    receiver.script({ status, body: 'no such hook' });

    const error = await sendError(channel().send(helpRequested(), signal));

    expect(error.retryable).toBe(false);
    expect(error.message).toContain(String(status));
  });

  it('does not follow a redirect, and fails for good', async () => {
    receiver.script({ status: 302, headers: { location: `${receiver.baseUrl}/elsewhere` } });

    const error = await sendError(channel().send(helpRequested(), signal));

    expect(error.retryable).toBe(false);
    expect(receiver.requests.map((r) => r.path)).toEqual(['/hooks/chatbox']);
  });

  it('fails retryably when the receiver does not answer in time', async () => {
    receiver.script({ hang: true });

    const error = await sendError(channel({ timeoutMs: 200 }).send(helpRequested(), signal));

    expect(error.retryable).toBe(true);
    expect(error.message).toContain('timed out');
  });

  it('fails retryably when the attempt is cancelled', async () => {
    receiver.script({ hang: true });
    const controller = new AbortController();

    const sending = channel().send(helpRequested(), controller.signal);
    await waitFor(() => receiver.requests.length === 1, { what: 'the request' });
    controller.abort();

    const error = await sendError(sending);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('cancelled');
  });

  it('fails retryably when the receiver cannot be reached, naming only its origin', async () => {
    const port = await closedPort();
    const sut = channel({ urls: [`http://127.0.0.1:${port}/secret-path-token`] });

    const error = await sendError(sut.send(helpRequested(), signal));

    expect(error.retryable).toBe(true);
    expect(error.message).toContain(`http://127.0.0.1:${port}`);
    expect(error.message).not.toContain('secret-path-token');
  });

  it('reports one failure among several URLs, retryable when any failure is', async () => {
    const sut = channel({ urls: [`${receiver.baseUrl}/a`, `${receiver.baseUrl}/b`] });
    receiver.script({ status: 400 }, { status: 500 });

    const error = await sendError(sut.send(helpRequested(), signal));

    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/^2 of 2 failed/);
  });
});
