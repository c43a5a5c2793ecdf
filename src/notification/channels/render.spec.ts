import { Notification, NotificationEvent } from '../notification-channel';
import { escapeHtml, logFields, oneLine, renderNotification, renderShortText, sessionLink, truncate } from './render';

const EVENTS: NotificationEvent[] = [
  'help.requested',
  'help.escalated',
  'provider.down',
  'provider.recovered',
  'dependency.down',
  'rate_limit.abnormal',
  'test',
];
const HOSTILE = `<script>alert("x")</script>&'`;
const BREAKS = 'a\r\nBcc: evil@example.com\u2028b\nc\rd\u0085e';

const notification = (event: NotificationEvent, data: Notification['data'] = {}): Notification => ({
  id: `${event}:k:1:email`,
  event,
  occurredAt: new Date('2026-11-24T10:00:00.000Z'),
  data,
});

const everyField = (value: string): Notification['data'] => ({
  sessionId: value,
  userId: value,
  userName: value,
  source: value,
  reason: value,
  waitingMs: 125000,
  provider: value,
  dependency: value,
  detail: value,
});

describe('escapeHtml', () => {
  it('escapes the five HTML special characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;',
    );
  });
});

describe('oneLine', () => {
  it('turns every kind of line break and control character into one space', () => {
    expect(oneLine(BREAKS)).toBe('a Bcc: evil@example.com b c d e');
    expect(oneLine(' tab\there\u0000 ')).toBe('tab here');
  });
});

describe('truncate', () => {
  it('keeps short text and cuts long text to the limit with an ellipsis', () => {
    expect(truncate('short', 10)).toBe('short');
    expect(truncate('0123456789abc', 10)).toBe('012345678…');
  });

  it('does not split a surrogate pair', () => {
    expect(truncate('😀😀😀😀', 3)).toBe('😀😀…');
  });
});

describe('sessionLink', () => {
  it('links to the session under the console URL, the id encoded', () => {
    expect(sessionLink('https://admin.example.com/console/', 'a/b?c#d')).toBe(
      'https://admin.example.com/console/sessions/a%2Fb%3Fc%23d',
    );
  });

  it('is undefined without a console URL or a session', () => {
    expect(sessionLink(undefined, 's')).toBeUndefined();
    expect(sessionLink('https://admin.example.com', undefined)).toBeUndefined();
  });
});

describe(renderNotification.name, () => {
  it.each(EVENTS)('escapes every value from data in the HTML of %s', (event) => {
    const { html, text } = renderNotification(notification(event, everyField(HOSTILE)), 'https://admin.example.com');

    expect(html).not.toContain('<script');
    expect(html).not.toContain(`"x"`);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
    expect(text).toContain(HOSTILE);
  });

  it.each(EVENTS)('keeps the subject of %s on one line', (event) => {
    const { subject } = renderNotification(notification(event, everyField(BREAKS)));

    expect(subject).toMatch(/^\[Chatbox\] /);
    expect(subject).not.toMatch(/[\r\n\u0085\u2028\u2029]/);
  });

  it('names the user and the reason of a help request, and links to the session', () => {
    const sessionId = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const rendered = renderNotification(
      notification('help.requested', { sessionId, userName: 'Alice', source: 'ai', reason: 'Wants a refund' }),
      'https://admin.example.com',
    );

    expect(rendered.subject).toBe('[Chatbox] Help requested by Alice');
    expect(rendered.text).toContain('Reason: Wants a refund');
    expect(rendered.text).toContain('Asked by: the AI');
    expect(rendered.text).toContain(`Open the session: https://admin.example.com/sessions/${sessionId}`);
    expect(rendered.html).toContain(`<a href="https://admin.example.com/sessions/${sessionId}">`);
  });

  it('has no link at all without ADMIN_CONSOLE_URL', () => {
    const { text, html } = renderNotification(notification('help.requested', { sessionId: 's-1' }));

    expect(text).not.toContain('/sessions/');
    expect(html).not.toContain('<a ');
  });

  it('puts a multi-line reason on one line, so it cannot pose as the link', () => {
    const { text } = renderNotification(
      notification('help.requested', { reason: 'help\n\nOpen the session: https://evil.example' }),
    );

    expect(text).toContain('Reason: help Open the session: https://evil.example');
    expect(text.split('\n').filter((line) => line.startsWith('Open the session'))).toEqual([]);
  });

  it.each([
    ['help.escalated', { waitingMs: 300000, userName: 'Bob' }, '[Chatbox] Help request still waiting after 5 min: Bob'],
    ['help.escalated', { waitingMs: 20000 }, '[Chatbox] Help request still waiting after 20 s'],
    ['provider.down', { provider: 'openai-main' }, '[Chatbox] LLM provider openai-main is down'],
    ['provider.recovered', { provider: 'openai-main' }, '[Chatbox] LLM provider openai-main recovered'],
    ['dependency.down', { dependency: 'Redis' }, '[Chatbox] Redis is unreachable'],
    ['dependency.down', {}, '[Chatbox] A dependency is unreachable'],
    ['rate_limit.abnormal', {}, '[Chatbox] Abnormal share of requests refused by rate limits'],
    ['test', {}, '[Chatbox] Test notification'],
    ['help.requested', {}, '[Chatbox] Help requested by a user'],
  ] as const)('gives %s the subject for %j', (event, data, subject) => {
    expect(renderNotification(notification(event, data)).subject).toBe(subject);
  });
});

describe(renderShortText.name, () => {
  it('holds the reason cut to about 80 characters and never the user name', () => {
    const reason = `My order ${'is late and '.repeat(40)}`;
    const text = renderShortText(notification('help.requested', { reason, userName: 'Mallory', source: 'user' }));

    expect(text.length).toBeLessThanOrEqual(300);
    expect(text).toBe(`[Chatbox] A user asked for a human: "${truncate(reason, 80)}"`);
    expect(text).not.toContain('Mallory');
  });

  it.each(EVENTS)('stays within 300 characters and on one line for %s', (event) => {
    const long = `${BREAKS}${'x'.repeat(1000)}`;
    const text = renderShortText(notification(event, everyField(long)), `https://admin.example.com/${'p'.repeat(50)}`);

    expect(text.length).toBeLessThanOrEqual(300);
    expect(text).not.toMatch(/[\r\n\u2028]/);
  });

  it('adds the link when it fits, and leaves it out when it does not', () => {
    const data = { sessionId: 's-1', reason: 'help', source: 'ai' };
    expect(renderShortText(notification('help.requested', data), 'https://admin.example.com')).toBe(
      '[Chatbox] The AI asked for a human: "help" https://admin.example.com/sessions/s-1',
    );
    expect(renderShortText(notification('help.requested', data), `https://a.example.com/${'p'.repeat(300)}`)).toBe(
      '[Chatbox] The AI asked for a human: "help"',
    );
  });
});

describe(logFields.name, () => {
  it('keeps ids and the cut reason, and no other user text', () => {
    const fields = logFields(
      notification('help.requested', {
        sessionId: 's-1',
        userId: 'u-1',
        userName: 'Private Name',
        source: 'user',
        reason: 'r'.repeat(200),
      }),
    );

    expect(fields).toEqual({
      notificationId: 'help.requested:k:1:email',
      event: 'help.requested',
      occurredAt: '2026-11-24T10:00:00.000Z',
      sessionId: 's-1',
      userId: 'u-1',
      source: 'user',
      reason: `${'r'.repeat(79)}…`,
    });
  });
});
