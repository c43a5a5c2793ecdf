import { describeNotificationConfig, parseNotificationConfig } from './notification-config';

const parse = (env: Record<string, string>) => {
  const problems: string[] = [];
  return { config: parseNotificationConfig(env, problems), problems };
};

const without = (env: Record<string, string>, name: string) =>
  Object.fromEntries(Object.entries(env).filter(([key]) => key !== name));

const EMAIL = {
  SMTP_URL: 'smtps://mailer:s3cret%2Fpass@smtp.example.com',
  MAIL_FROM: 'Chatbox <chatbox@example.com>',
  ADMIN_EMAILS: 'alice@example.com, bob@example.org',
};
const SMS = {
  SMS_API_URL: 'https://api.twilio.com/',
  SMS_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef',
  SMS_AUTH_TOKEN: 'sms-token',
  SMS_FROM: '+15005550006',
  ADMIN_PHONES: '+14155550100,+447700900123',
};
const WEBHOOK = {
  WEBHOOK_URLS: 'https://hooks.example.com/T1/B2/abc, http://alerts.monitoring.svc.cluster.local:8080/in',
  WEBHOOK_SECRET: 'whsec-0123456789abcdef0123456789abcdef',
};

describe(parseNotificationConfig.name, () => {
  it('configures the log channel alone when nothing is set', () => {
    expect(parse({})).toEqual({ config: { channels: ['log'] }, problems: [] });
    expect(parse({ SMTP_URL: '', WEBHOOK_URLS: ' ', ADMIN_EMAILS: '' }).config.channels).toEqual(['log']);
  });

  it('parses a full configuration', () => {
    const { config, problems } = parse({
      ...EMAIL,
      ...SMS,
      ...WEBHOOK,
      SMTP_TLS_REJECT_UNAUTHORIZED: 'false',
      ADMIN_CONSOLE_URL: 'https://admin.example.com/console/',
    });

    expect(problems).toEqual([]);
    expect(config).toEqual({
      channels: ['email', 'webhook', 'sms'],
      adminConsoleUrl: 'https://admin.example.com/console',
      email: {
        smtp: {
          host: 'smtp.example.com',
          port: 465,
          secure: true,
          requireTLS: false,
          rejectUnauthorized: false,
          user: 'mailer',
          pass: 's3cret/pass',
        },
        from: 'Chatbox <chatbox@example.com>',
        to: ['alice@example.com', 'bob@example.org'],
      },
      sms: {
        apiUrl: 'https://api.twilio.com',
        accountSid: 'AC0123456789abcdef0123456789abcdef',
        authToken: 'sms-token',
        from: '+15005550006',
        to: ['+14155550100', '+447700900123'],
        timeoutMs: 10000,
      },
      webhook: {
        urls: ['https://hooks.example.com/T1/B2/abc', 'http://alerts.monitoring.svc.cluster.local:8080/in'],
        secret: 'whsec-0123456789abcdef0123456789abcdef',
        timeoutMs: 10000,
      },
    });
  });

  it('requires STARTTLS for smtp:// to a host outside the cluster, and not inside it', () => {
    const outside = parse({ ...EMAIL, SMTP_URL: 'smtp://smtp.example.com' }).config.email?.smtp;
    const inside = parse({ ...EMAIL, SMTP_URL: 'smtp://127.0.0.1:2525' }).config.email?.smtp;

    expect(outside).toMatchObject({ port: 587, secure: false, requireTLS: true, rejectUnauthorized: true });
    expect(inside).toMatchObject({ host: '127.0.0.1', port: 2525, secure: false, requireTLS: false });
  });

  it('reports a malformed ADMIN_EMAILS entry, naming ADMIN_EMAILS', () => {
    const { config, problems } = parse({ ...EMAIL, ADMIN_EMAILS: 'alice@example.com, not-an-address' });

    expect(problems).toEqual(['ADMIN_EMAILS entry "not-an-address" is not an email address']);
    expect(config.email).toBeUndefined();
  });

  it.each([
    ['missing', {}],
    ['empty', { ADMIN_EMAILS: ' , ,' }],
  ])('reports SMTP_URL with ADMIN_EMAILS %s', (_, extra: Record<string, string>) => {
    const { config, problems } = parse({ ...without(EMAIL, 'ADMIN_EMAILS'), ...extra });

    expect(problems).toEqual([
      'ADMIN_EMAILS is required when SMTP_URL is set: a comma-separated list of email addresses',
    ]);
    expect(config.channels).toEqual(['log']);
  });

  it('reports SMTP_URL without MAIL_FROM, and a MAIL_FROM that is no address', () => {
    expect(parse(without(EMAIL, 'MAIL_FROM')).problems).toEqual([
      'MAIL_FROM is required when SMTP_URL is set (the sender address, e.g. chatbox@example.com)',
    ]);
    expect(parse({ ...EMAIL, MAIL_FROM: 'Chatbox <nobody>' }).problems).toEqual([
      'MAIL_FROM must be an email address, or "Name <address>"',
    ]);
  });

  it.each([
    ['http://smtp.example.com', 'SMTP_URL must be an smtp:// or smtps:// URL'],
    ['not a url', 'SMTP_URL must be a URL such as smtps://user:password@smtp.example.com:465'],
    [
      'smtps://smtp.example.com/path?x=1',
      'SMTP_URL must be smtp(s)://[user:password@]host[:port] without a path or query',
    ],
    ['smtps://us%ZZer:p@smtp.example.com', 'SMTP_URL has a badly percent-encoded user name or password'],
  ])('reports SMTP_URL %s', (url, problem) => {
    expect(parse({ ...EMAIL, SMTP_URL: url }).problems).toEqual([problem]);
  });

  it('reports an SMTP_TLS_REJECT_UNAUTHORIZED that is not true or false', () => {
    expect(parse({ ...EMAIL, SMTP_TLS_REJECT_UNAUTHORIZED: 'no' }).problems).toEqual([
      'SMTP_TLS_REJECT_UNAUTHORIZED must be true or false',
    ]);
  });

  it('reports email settings given without SMTP_URL', () => {
    expect(parse(without(EMAIL, 'SMTP_URL')).problems).toEqual([
      'MAIL_FROM is set but SMTP_URL is not: set SMTP_URL to send email, or unset MAIL_FROM',
      'ADMIN_EMAILS is set but SMTP_URL is not: set SMTP_URL to send email, or unset ADMIN_EMAILS',
    ]);
  });

  it('refuses an http webhook to a public host, naming the entry but not its URL', () => {
    const { config, problems } = parse({
      ...WEBHOOK,
      WEBHOOK_URLS: 'https://ok.example.com/a,http://hooks.example.com/T1/secret',
    });

    expect(problems).toEqual([
      'WEBHOOK_URLS entry 2 must use https (plain http only for loopback, private and cluster-internal hosts)',
    ]);
    expect(config.webhook).toBeUndefined();
  });

  it.each([
    ['not a url', 'WEBHOOK_URLS entry 1 is not a URL'],
    ['https://user:pw@hooks.example.com/', 'WEBHOOK_URLS entry 1 must not hold a user name or password'],
    [' , ', 'WEBHOOK_URLS must list at least one https URL'],
  ])('reports WEBHOOK_URLS %j', (urls, problem) => {
    expect(parse({ ...WEBHOOK, WEBHOOK_URLS: urls }).problems).toEqual([problem]);
  });

  it('refuses a WEBHOOK_SECRET shorter than 32 characters', () => {
    const { config, problems } = parse({ ...WEBHOOK, WEBHOOK_SECRET: 'x'.repeat(31) });

    expect(problems).toEqual(['WEBHOOK_SECRET must be at least 32 characters']);
    expect(config.webhook).toBeUndefined();
  });

  it('reports WEBHOOK_URLS without WEBHOOK_SECRET, and the secret without URLs', () => {
    expect(parse({ WEBHOOK_URLS: WEBHOOK.WEBHOOK_URLS }).problems).toEqual([
      'WEBHOOK_SECRET is required when WEBHOOK_URLS is set (at least 32 random characters)',
    ]);
    expect(parse({ WEBHOOK_SECRET: WEBHOOK.WEBHOOK_SECRET }).problems).toEqual([
      'WEBHOOK_SECRET is set but WEBHOOK_URLS is not: set WEBHOOK_URLS, or unset WEBHOOK_SECRET',
    ]);
  });

  it('reports a partial SMS set, naming what is missing', () => {
    const { config, problems } = parse({
      SMS_API_URL: SMS.SMS_API_URL,
      SMS_ACCOUNT_SID: SMS.SMS_ACCOUNT_SID,
      SMS_FROM: '',
    });

    expect(problems).toEqual([
      'SMS needs all of SMS_API_URL, SMS_ACCOUNT_SID, SMS_AUTH_TOKEN, SMS_FROM, ADMIN_PHONES; missing: SMS_AUTH_TOKEN, SMS_FROM, ADMIN_PHONES',
    ]);
    expect(config.sms).toBeUndefined();
  });

  it('reports each malformed SMS setting', () => {
    const { problems } = parse({
      SMS_API_URL: 'http://api.example.com/base',
      SMS_ACCOUNT_SID: 'AC/../x',
      SMS_AUTH_TOKEN: 't',
      SMS_FROM: '0800 CALL ME NOW',
      ADMIN_PHONES: '+14155550100, 4155550101',
    });

    expect(problems).toEqual([
      'SMS_API_URL must use https (plain http only for loopback, private and cluster-internal hosts)',
      'SMS_ACCOUNT_SID must be 1-64 letters, digits, _ or -',
      'SMS_FROM must be an E.164 number such as +14155550100, or an alphanumeric sender ID of 1-11 characters',
      'ADMIN_PHONES entry "4155550101" is not an E.164 number such as +14155550100',
    ]);
  });

  it('accepts an alphanumeric SMS sender and an SMS API inside the cluster, but not with a path', () => {
    expect(parse({ ...SMS, SMS_FROM: 'Chatbox', SMS_API_URL: 'http://sms-gateway:8080' }).problems).toEqual([]);
    expect(parse({ ...SMS, SMS_API_URL: 'https://api.twilio.com/2010-04-01' }).problems).toEqual([
      'SMS_API_URL must be a base URL without a path, query or fragment',
    ]);
  });

  it.each([
    [
      'http://admin.example.com',
      'ADMIN_CONSOLE_URL must use https (plain http only for loopback, private and cluster-internal hosts)',
    ],
    ['https://admin.example.com/?a=1', 'ADMIN_CONSOLE_URL must not have a query or fragment'],
    ['admin.example.com', 'ADMIN_CONSOLE_URL is not a URL'],
  ])('reports ADMIN_CONSOLE_URL %s', (url, problem) => {
    const { config, problems } = parse({ ADMIN_CONSOLE_URL: url });

    expect(problems).toEqual([problem]);
    expect(config.adminConsoleUrl).toBeUndefined();
  });

  it('accepts a plain-http ADMIN_CONSOLE_URL on loopback', () => {
    expect(parse({ ADMIN_CONSOLE_URL: 'http://localhost:3000/' }).config.adminConsoleUrl).toBe('http://localhost:3000');
  });
});

describe(describeNotificationConfig.name, () => {
  it('names hosts and counts, and no secret', () => {
    const { config } = parse({ ...EMAIL, ...SMS, ...WEBHOOK, SMTP_URL: 'smtp://mailer:s3cret@smtp.example.com' });

    const lines = describeNotificationConfig(config);

    expect(lines).toEqual([
      'email via smtp.example.com:587 (STARTTLS required) to 2 address(es)',
      'webhook to 2 URL(s) on hooks.example.com, alerts.monitoring.svc.cluster.local:8080',
      'sms via api.twilio.com to 2 phone(s)',
    ]);
    expect(lines.join('\n')).not.toMatch(/s3cret|sms-token|whsec|T1\/B2/);
  });

  it('says so when only the log channel is configured', () => {
    expect(describeNotificationConfig(parse({}).config)).toEqual(['log only (no email, webhook or SMS configured)']);
  });
});
