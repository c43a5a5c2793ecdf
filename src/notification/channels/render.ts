import { Notification, NotificationData, NotificationEvent } from '../notification-channel';

/** What a notification says, ready for a channel: `subject` is safe for a header, `html` has every value escaped. */
export interface RenderedNotification {
  subject: string;
  text: string;
  html: string;
}

export const SUBJECT_PREFIX = '[Chatbox]';
export const SMS_MAX_CHARS = 300;
/** The most of a user's help reason that leaves the service in a short message (SMS, log line). */
export const SHORT_REASON_CHARS = 80;
const REASON_CHARS = 1000;
const NAME_CHARS = 60;
const FIELD_CHARS = 300;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/**
 * One line of plain text: line breaks (CR, LF and the Unicode ones some mail clients honour) and other control
 * characters become spaces, so a value can go into a header without starting a new one.
 */
export function oneLine(value: string): string {
  return value
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** At most `max` characters (code points, so no surrogate pair is split), with "…" when something was cut. */
export function truncate(value: string, max: number): string {
  const chars = Array.from(value);
  return chars.length <= max ? value : `${chars.slice(0, max - 1).join('')}…`;
}

/** The session's page in the admin console, or nothing when ADMIN_CONSOLE_URL is not configured. */
export function sessionLink(adminConsoleUrl: string | undefined, sessionId: string | undefined): string | undefined {
  if (!adminConsoleUrl || !sessionId) return undefined;
  return `${adminConsoleUrl.replace(/\/+$/, '')}/sessions/${encodeURIComponent(sessionId)}`;
}

const short = (value: string | undefined, max: number) => (value ? truncate(oneLine(value), max) : undefined);

function waited(ms: number | undefined): string | undefined {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return undefined;
  const minutes = Math.round(ms / 60000);
  return minutes >= 1 ? `${minutes} min` : `${Math.max(1, Math.round(ms / 1000))} s`;
}

const who = (data: NotificationData) => short(data.userName, NAME_CHARS) ?? short(data.userId, NAME_CHARS);
const named = (value: string | undefined, fallback: string) => short(value, NAME_CHARS) ?? fallback;

/** The headline of each event, without the prefix; it may hold a user's name, so never in an SMS. */
function headline(event: NotificationEvent, data: NotificationData): string {
  switch (event) {
    case 'help.requested':
      return `Help requested by ${who(data) ?? 'a user'}`;
    case 'help.escalated': {
      const wait = waited(data.waitingMs);
      return `Help request still waiting${wait ? ` after ${wait}` : ''}${who(data) ? `: ${who(data)}` : ''}`;
    }
    case 'provider.down':
      return `LLM provider ${named(data.provider, 'unknown')} is down`;
    case 'provider.recovered':
      return `LLM provider ${named(data.provider, 'unknown')} recovered`;
    case 'dependency.down':
      return `${named(data.dependency, 'A dependency')} is unreachable`;
    case 'dependency.recovered':
      return `${named(data.dependency, 'A dependency')} is reachable again`;
    case 'rate_limit.abnormal':
      return 'Abnormal share of requests refused by rate limits';
    case 'test':
      return 'Test notification';
  }
}

/** The same without anything a user wrote (an SMS, a log line): the user's name stays out. */
function shortHeadline(event: NotificationEvent, data: NotificationData): string {
  switch (event) {
    case 'help.requested':
      return data.source === 'ai' ? 'The AI asked for a human' : 'A user asked for a human';
    case 'help.escalated': {
      const wait = waited(data.waitingMs);
      return `Help request still waiting${wait ? ` after ${wait}` : ''}`;
    }
    default:
      return headline(event, data);
  }
}

function fields(data: NotificationData): [string, string][] {
  const rows: [string, string | undefined][] = [
    ['User', short(data.userName, NAME_CHARS)],
    ['User id', short(data.userId, NAME_CHARS)],
    ['Asked by', data.source === 'ai' ? 'the AI' : data.source === 'user' ? 'the user' : short(data.source, 20)],
    // One line, so a reason cannot pose as the footer or the link below it.
    ['Reason', short(data.reason, REASON_CHARS)],
    ['Waiting', waited(data.waitingMs)],
    ['Provider', short(data.provider, NAME_CHARS)],
    ['Dependency', short(data.dependency, NAME_CHARS)],
    ['Detail', short(data.detail, FIELD_CHARS)],
    ['Session', short(data.sessionId, NAME_CHARS)],
  ];
  return rows.filter((row): row is [string, string] => row[1] !== undefined && row[1] !== '');
}

/** Subject, plain text and HTML of a notification (email). The link appears only when ADMIN_CONSOLE_URL is set. */
export function renderNotification(notification: Notification, adminConsoleUrl?: string): RenderedNotification {
  const { data } = notification;
  const title = headline(notification.event, data);
  const subject = truncate(oneLine(`${SUBJECT_PREFIX} ${title}`), 150);
  const rows = fields(data);
  const link = sessionLink(adminConsoleUrl, data.sessionId);
  const footer = `Chatbox notification ${notification.id} (${notification.event}) at ${notification.occurredAt.toISOString()}`;

  const text = [
    title,
    '',
    ...rows.map(([label, value]) => `${label}: ${value}`),
    ...(link ? ['', `Open the session: ${link}`] : []),
    '',
    footer,
    '',
  ].join('\n');

  const cell = 'style="text-align:left;vertical-align:top;padding:2px 12px 2px 0"';
  const html = [
    '<!doctype html>',
    '<html><body style="font-family:sans-serif;font-size:14px">',
    `<h2 style="font-size:16px">${escapeHtml(title)}</h2>`,
    '<table>',
    ...rows.map(
      ([label, value]) => `<tr><th ${cell}>${escapeHtml(label)}</th><td ${cell}>${escapeHtml(value)}</td></tr>`,
    ),
    '</table>',
    ...(link ? [`<p><a href="${escapeHtml(link)}">Open the session in the admin console</a></p>`] : []),
    `<p style="color:#666;font-size:12px">${escapeHtml(footer)}</p>`,
    '</body></html>',
    '',
  ].join('\n');

  return { subject, text, html };
}

/**
 * A short message of at most 300 characters (SMS): the headline without the user's name, the help reason cut to
 * about 80 characters, and the link when it fits.
 */
export function renderShortText(notification: Notification, adminConsoleUrl?: string): string {
  const { data } = notification;
  const reason = short(data.reason, SHORT_REASON_CHARS);
  const base = `${SUBJECT_PREFIX} ${shortHeadline(notification.event, data)}${reason ? `: "${reason}"` : ''}`;
  const link = sessionLink(adminConsoleUrl, data.sessionId);
  const withLink = link ? `${base} ${link}` : base;
  return withLink.length <= SMS_MAX_CHARS ? withLink : truncate(base, SMS_MAX_CHARS);
}

/**
 * The facts of a notification that may go to the service's log: ids, names from configuration and the detail the
 * service wrote itself (counts, a driver's error); of user text only the cut reason.
 */
export function logFields(notification: Notification): Record<string, string | number> {
  const { data } = notification;
  const entries: [string, string | number | undefined][] = [
    ['notificationId', notification.id],
    ['event', notification.event],
    ['occurredAt', notification.occurredAt.toISOString()],
    ['sessionId', data.sessionId],
    ['userId', data.userId],
    ['source', data.source],
    ['waitingMs', data.waitingMs],
    ['provider', data.provider],
    ['dependency', data.dependency],
    ['detail', short(data.detail, FIELD_CHARS)],
    ['reason', short(data.reason, SHORT_REASON_CHARS)],
  ];
  return Object.fromEntries(
    entries.filter((entry): entry is [string, string | number] => entry[1] !== undefined && entry[1] !== ''),
  );
}
