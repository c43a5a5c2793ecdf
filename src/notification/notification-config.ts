import { isInternalHost } from '../config/llm-models';
import { ChannelKind } from './notification-channel';

/** How to reach the SMTP server. `pass` is a secret: never log this object. */
export interface SmtpSettings {
  host: string;
  port: number;
  /** smtps://: TLS from the first byte. */
  secure: boolean;
  /** smtp:// to a host that is not internal: STARTTLS is required, never plain text. */
  requireTLS: boolean;
  rejectUnauthorized: boolean;
  user?: string;
  pass?: string;
}

export interface EmailChannelConfig {
  smtp: SmtpSettings;
  /** MAIL_FROM, an address or `Name <address>`. */
  from: string;
  /** ADMIN_EMAILS: every message goes to all of them at once. */
  to: string[];
}

/** A Twilio-compatible messages API. `authToken` is a secret: never log this object. */
export interface SmsChannelConfig {
  /** Without a trailing slash, e.g. https://api.twilio.com. */
  apiUrl: string;
  accountSid: string;
  authToken: string;
  from: string;
  /** ADMIN_PHONES, E.164: one request per phone. */
  to: string[];
  timeoutMs: number;
}

/** `secret` signs every delivery, and the URLs may hold tokens of their own (chat webhooks): never log this object. */
export interface WebhookChannelConfig {
  urls: string[];
  secret: string;
  timeoutMs: number;
}

export interface NotificationConfig {
  /** The configured channels, email, then webhook, then SMS; `log` alone when none is. */
  channels: ChannelKind[];
  email?: EmailChannelConfig;
  sms?: SmsChannelConfig;
  webhook?: WebhookChannelConfig;
  /** ADMIN_CONSOLE_URL without a trailing slash: links to a session are `${adminConsoleUrl}/sessions/<id>`. */
  adminConsoleUrl?: string;
}

/** How long one HTTP attempt (an SMS, a webhook) may take before it counts as failed and retryable. */
export const HTTP_ATTEMPT_TIMEOUT_MS = 10_000;
export const WEBHOOK_SECRET_MIN_CHARS = 32;

const EMAIL_VARS = ['MAIL_FROM', 'ADMIN_EMAILS', 'SMTP_TLS_REJECT_UNAUTHORIZED'] as const;
const SMS_VARS = ['SMS_API_URL', 'SMS_ACCOUNT_SID', 'SMS_AUTH_TOKEN', 'SMS_FROM', 'ADMIN_PHONES'] as const;

// Deliberately plain: a dot-atom local part and a domain of at least two labels, no quoted or IP-literal forms.
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const NAMED_EMAIL = /^([^<>"\\\r\n]*?)\s*<([^<>\s]+)>$/;
const E164 = /^\+[1-9]\d{1,14}$/;
/** An alphanumeric sender ID, as some countries allow instead of a number. */
const SENDER_ID = /^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/;
const ACCOUNT_SID = /^[A-Za-z0-9_-]{1,64}$/;

const isEmail = (value: string) => value.length <= 254 && EMAIL.test(value);

function isSender(value: string): boolean {
  if (isEmail(value)) return true;
  const named = NAMED_EMAIL.exec(value);
  return named !== null && isEmail(named[2]);
}

function entries(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/**
 * An http(s) URL that is safe to send to: https, or plain http only to loopback, private and cluster-internal
 * hosts; no credentials in it. The reason it is not, or undefined.
 */
function urlProblem(value: string, allowPath: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isInternalHost(url.hostname))) {
    return 'must use https (plain http only for loopback, private and cluster-internal hosts)';
  }
  if (url.username || url.password) return 'must not hold a user name or password';
  if (!allowPath && (url.pathname.replace(/\/+$/, '') !== '' || url.search || url.hash)) {
    return 'must be a base URL without a path, query or fragment';
  }
  return undefined;
}

function parseEmail(get: (name: string) => string | undefined, problems: string[]): EmailChannelConfig | undefined {
  const smtpUrl = get('SMTP_URL');
  if (!smtpUrl) {
    for (const name of EMAIL_VARS.filter((n) => get(n))) {
      problems.push(`${name} is set but SMTP_URL is not: set SMTP_URL to send email, or unset ${name}`);
    }
    return undefined;
  }
  const before = problems.length;
  let smtp: SmtpSettings | undefined;
  let url: URL | undefined;
  try {
    url = new URL(smtpUrl);
  } catch {
    problems.push('SMTP_URL must be a URL such as smtps://user:password@smtp.example.com:465');
  }
  if (url && url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    problems.push('SMTP_URL must be an smtp:// or smtps:// URL');
  } else if (url) {
    const secure = url.protocol === 'smtps:';
    const port = url.port ? Number(url.port) : secure ? 465 : 587;
    if (!url.hostname) problems.push('SMTP_URL must name a host');
    if (url.pathname.replace(/\/+$/, '') !== '' || url.search || url.hash) {
      problems.push('SMTP_URL must be smtp(s)://[user:password@]host[:port] without a path or query');
    }
    let user: string | undefined;
    let pass: string | undefined;
    try {
      user = url.username ? decodeURIComponent(url.username) : undefined;
      pass = url.password ? decodeURIComponent(url.password) : undefined;
    } catch {
      problems.push('SMTP_URL has a badly percent-encoded user name or password');
    }
    const reject = get('SMTP_TLS_REJECT_UNAUTHORIZED') ?? 'true';
    if (reject !== 'true' && reject !== 'false') problems.push('SMTP_TLS_REJECT_UNAUTHORIZED must be true or false');
    smtp = {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port,
      secure,
      // Plain smtp:// leaves the cluster only with STARTTLS: nodemailer then refuses a server that does not offer it.
      requireTLS: !secure && !isInternalHost(url.hostname),
      rejectUnauthorized: reject !== 'false',
      user,
      pass,
    };
  }

  const from = get('MAIL_FROM');
  if (!from) problems.push('MAIL_FROM is required when SMTP_URL is set (the sender address, e.g. chatbox@example.com)');
  else if (!isSender(from)) problems.push('MAIL_FROM must be an email address, or "Name <address>"');

  const adminEmails = get('ADMIN_EMAILS');
  const to = adminEmails ? entries(adminEmails) : [];
  if (to.length === 0) {
    problems.push('ADMIN_EMAILS is required when SMTP_URL is set: a comma-separated list of email addresses');
  }
  for (const address of to.filter((a) => !isEmail(a))) {
    problems.push(`ADMIN_EMAILS entry "${address}" is not an email address`);
  }
  if (problems.length > before || !smtp || !from) return undefined;
  return { smtp, from, to: [...new Set(to)] };
}

function parseSms(get: (name: string) => string | undefined, problems: string[]): SmsChannelConfig | undefined {
  const given = SMS_VARS.filter((name) => get(name));
  if (given.length === 0) return undefined;
  if (given.length < SMS_VARS.length) {
    const missing = SMS_VARS.filter((name) => !get(name));
    problems.push(`SMS needs all of ${SMS_VARS.join(', ')}; missing: ${missing.join(', ')}`);
    return undefined;
  }
  const before = problems.length;
  const [apiUrl, accountSid, authToken, from, phones] = SMS_VARS.map((name) => get(name) ?? '');
  const problem = urlProblem(apiUrl, false);
  if (problem) problems.push(`SMS_API_URL ${problem}`);
  if (!ACCOUNT_SID.test(accountSid)) problems.push('SMS_ACCOUNT_SID must be 1-64 letters, digits, _ or -');
  if (!E164.test(from) && !SENDER_ID.test(from)) {
    problems.push(
      'SMS_FROM must be an E.164 number such as +14155550100, or an alphanumeric sender ID of 1-11 characters',
    );
  }
  const to = entries(phones);
  if (to.length === 0) problems.push('ADMIN_PHONES must list at least one E.164 number');
  for (const phone of to.filter((p) => !E164.test(p))) {
    problems.push(`ADMIN_PHONES entry "${phone}" is not an E.164 number such as +14155550100`);
  }
  if (problems.length > before) return undefined;
  return {
    apiUrl: apiUrl.replace(/\/+$/, ''),
    accountSid,
    authToken,
    from,
    to: [...new Set(to)],
    timeoutMs: HTTP_ATTEMPT_TIMEOUT_MS,
  };
}

function parseWebhook(get: (name: string) => string | undefined, problems: string[]): WebhookChannelConfig | undefined {
  const list = get('WEBHOOK_URLS');
  const secret = get('WEBHOOK_SECRET');
  if (!list) {
    if (secret)
      problems.push('WEBHOOK_SECRET is set but WEBHOOK_URLS is not: set WEBHOOK_URLS, or unset WEBHOOK_SECRET');
    return undefined;
  }
  const before = problems.length;
  const urls = entries(list);
  if (urls.length === 0) problems.push('WEBHOOK_URLS must list at least one https URL');
  // Entries are named by position: a chat webhook's URL is itself a secret.
  urls.forEach((url, i) => {
    const problem = urlProblem(url, true);
    if (problem) problems.push(`WEBHOOK_URLS entry ${i + 1} ${problem}`);
  });
  if (!secret) {
    problems.push(
      `WEBHOOK_SECRET is required when WEBHOOK_URLS is set (at least ${WEBHOOK_SECRET_MIN_CHARS} random characters)`,
    );
  } else if (secret.length < WEBHOOK_SECRET_MIN_CHARS) {
    problems.push(`WEBHOOK_SECRET must be at least ${WEBHOOK_SECRET_MIN_CHARS} characters`);
  }
  if (problems.length > before || !secret) return undefined;
  return { urls: [...new Set(urls)], secret, timeoutMs: HTTP_ATTEMPT_TIMEOUT_MS };
}

/**
 * The notification channels from the environment; every problem names its variable. All of it is optional:
 * with nothing set, notifications go to the service's log only. Empty strings count as unset.
 */
export function parseNotificationConfig(env: NodeJS.ProcessEnv, problems: string[]): NotificationConfig {
  const get = (name: string) => env[name]?.trim() || undefined;
  const config: NotificationConfig = { channels: [] };

  const consoleUrl = get('ADMIN_CONSOLE_URL');
  if (consoleUrl) {
    const problem = urlProblem(consoleUrl, true);
    if (problem) problems.push(`ADMIN_CONSOLE_URL ${problem}`);
    else if (/[?#]/.test(consoleUrl)) problems.push('ADMIN_CONSOLE_URL must not have a query or fragment');
    else config.adminConsoleUrl = consoleUrl.replace(/\/+$/, '');
  }

  config.email = parseEmail(get, problems);
  config.webhook = parseWebhook(get, problems);
  config.sms = parseSms(get, problems);
  if (config.email) config.channels.push('email');
  if (config.webhook) config.channels.push('webhook');
  if (config.sms) config.channels.push('sms');
  if (config.channels.length === 0) config.channels.push('log');
  return config;
}

/** One line per channel for the boot log: hosts and counts, never a secret or a full webhook URL. */
export function describeNotificationConfig(config: NotificationConfig): string[] {
  const lines: string[] = [];
  if (config.email) {
    const { smtp, to } = config.email;
    const tls = smtp.secure ? 'TLS' : smtp.requireTLS ? 'STARTTLS required' : 'STARTTLS if offered';
    lines.push(`email via ${smtp.host}:${smtp.port} (${tls}) to ${to.length} address(es)`);
  }
  if (config.webhook) {
    const hosts = [...new Set(config.webhook.urls.map((u) => new URL(u).host))];
    lines.push(`webhook to ${config.webhook.urls.length} URL(s) on ${hosts.join(', ')}`);
  }
  if (config.sms) lines.push(`sms via ${new URL(config.sms.apiUrl).host} to ${config.sms.to.length} phone(s)`);
  if (lines.length === 0) lines.push('log only (no email, webhook or SMS configured)');
  return lines;
}
