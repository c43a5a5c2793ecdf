import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { CompactSign } from 'jose';
import { Manager } from 'socket.io-client';
import { AdminClient } from '../utils/admin-client';
import { ChatboxProcess } from '../utils/chatbox-process';
import { ChatClient, signToken } from '../utils/chat-client';
import { testEnv } from '../utils/test-app';

/**
 * The hostile-input corpus, run against the real process. Each property draws attacks for one surface;
 * when an endpoint or an event is added, add it to REST_ROUTES or SOCKET_EVENTS (and its fields to the
 * arbitraries) so the corpus covers it. After all of it the process must still be up, healthy, able
 * to run a chat turn, and must not have logged a single error.
 */

const RUNS = { numRuns: 100 };
const DAY_S = 86400;
const nowS = () => Math.floor(Date.now() / 1000);

// ---- text ---------------------------------------------------------------------------------------

const INVISIBLE = ['\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u00AD', '\u202E', '\u3164', ' ', '\n', '\t'];
const hostileText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(...INVISIBLE), minLength: 1, maxLength: 40 }),
  // Raw UTF-16 code units, half of them around the surrogates: lone halves, reversed pairs, real pairs.
  fc
    .array(fc.oneof(fc.integer({ min: 0xd7f0, max: 0xe00f }), fc.integer({ min: 0, max: 0xffff })), {
      minLength: 1,
      maxLength: 40,
    })
    .map((units) => String.fromCharCode(...units)),
  // The worst cases for per-message work, at and past MESSAGE_MAX_CHARS (10,000), inside the frame limit.
  fc.constantFrom(
    '😀'.repeat(10000),
    '😀'.repeat(10001),
    '🇫🇷'.repeat(5000),
    '👨‍👩‍👧‍👦'.repeat(1400),
    'e' + '\u0301'.repeat(9999),
    '\u200B'.repeat(10000),
    `${'a'.repeat(9999)}\uD800`,
  ),
);

const codePoints = (text: string) => [...text].length;
const hasLoneSurrogate = (text: string) => /\p{Cs}/u.test(text);
const isBlank = (text: string) => /^[\p{White_Space}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]*$/u.test(text);

// ---- values of the wrong kind --------------------------------------------------------------------

const operators = fc.constantFrom({ $gt: '' }, { $ne: null }, { $where: 'sleep(1000)' }, { $regex: '.*' });
const deep = (levels: number) => JSON.parse('['.repeat(levels) + ']'.repeat(levels)) as unknown;
const hostileValue = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  operators,
  hostileText,
  fc.constantFrom(null, -1, 1e300, Number.MAX_SAFE_INTEGER + 2, '', [], {}),
  // socket.io-client's encoder recurses, so deeper values go over the raw protocol (below).
  fc.constantFrom(deep(100), deep(1000)),
  fc.constant(JSON.parse('{"__proto__":{"polluted":true}}') as unknown),
);

// ---- tokens --------------------------------------------------------------------------------------

/** Claims as JSON text, so that values JavaScript cannot write (1e999, which parses as Infinity) get in. */
interface TokenCase {
  alg: 'HS256' | 'HS512' | 'none' | 'wrong-key';
  claims: Record<string, string>;
}

// Each claim is valid about half the time, so that tokens of every kind, valid ones included, come up.
const validOrNot = (valid: string[], invalid: string[]) =>
  fc.oneof({ arbitrary: fc.constantFrom(...valid), weight: 1 }, { arbitrary: fc.constantFrom(...invalid), weight: 1 });
const tokenCase = (now: number): fc.Arbitrary<TokenCase> =>
  fc.record({
    alg: fc.oneof(
      { arbitrary: fc.constant('HS256' as const), weight: 3 },
      { arbitrary: fc.constantFrom('HS512' as const, 'none' as const, 'wrong-key' as const), weight: 1 },
    ),
    claims: fc.record(
      {
        sub: validOrNot(
          [JSON.stringify(`u-${randomUUID()}`), JSON.stringify(`u-${randomUUID()}-😀`)],
          ['""', '42', 'null', '{"$ne":null}', JSON.stringify('x'.repeat(200)), '"u-\\ud800"'],
        ),
        exp: validOrNot(
          [String(now + 3600), String(now + 29 * DAY_S)],
          [
            '1e300',
            '1e999',
            '-1e300',
            String((now + 3600) * 1000),
            String(now + 31 * DAY_S),
            String(now - 3600),
            '"9999999999"',
            'null',
            '{}',
            '[1]',
          ],
        ),
        iat: validOrNot([String(now), String(now - 3600)], [String(now + 3600), '1e300', '1e999', '"now"']),
        nbf: validOrNot([String(now - 60)], [String(now + 3600), '1e999']),
        name: hostileText.map((t) => JSON.stringify(t)),
        roles: fc.constantFrom('["admin"]', '"admin"', '[{}]', JSON.stringify(Array(1000).fill('user'))),
      },
      { requiredKeys: ['sub', 'exp'] },
    ),
  });

/** Whether the service must accept the token, by the rules in the README. */
function shouldAccept({ alg, claims }: TokenCase, now: number): boolean {
  const number = (raw: string | undefined) => {
    const value = raw === undefined ? undefined : (JSON.parse(raw) as unknown);
    return typeof value === 'number' ? value : undefined;
  };
  const sub = JSON.parse(claims.sub) as unknown;
  const [exp, iat, nbf] = [number(claims.exp), number(claims.iat), number(claims.nbf)];
  const timesOk =
    exp !== undefined &&
    exp > now &&
    exp <= now + 30 * DAY_S &&
    (claims.iat === undefined || (iat !== undefined && iat <= now)) &&
    (claims.nbf === undefined || (nbf !== undefined && nbf <= now));
  const subOk = typeof sub === 'string' && sub !== '' && sub.length <= 128 && !hasLoneSurrogate(sub);
  return alg === 'HS256' && timesOk && subOk;
}

/** One token of each verdict, run first, so every branch of an oracle is taken whatever the draw. */
const plainTokens = (now: number): { valid: TokenCase; invalid: TokenCase } => ({
  valid: { alg: 'HS256', claims: { sub: JSON.stringify(`u-${randomUUID()}`), exp: String(now + 3600) } },
  invalid: { alg: 'HS256', claims: { sub: JSON.stringify(`u-${randomUUID()}`), exp: '1e300' } },
});

function encodeToken({ alg, claims }: TokenCase, secret: string): Promise<string> {
  const json = `{${Object.entries(claims)
    .map(([name, raw]) => `"${name}":${raw}`)
    .join(',')}}`;
  if (alg === 'none') {
    const part = (text: string) => Buffer.from(text).toString('base64url');
    return Promise.resolve(`${part('{"alg":"none"}')}.${part(json)}.`);
  }
  const key = new TextEncoder().encode(alg === 'wrong-key' ? `${secret}-not-it` : secret);
  return new CompactSign(new TextEncoder().encode(json))
    .setProtectedHeader({ alg: alg === 'wrong-key' ? 'HS256' : alg })
    .sign(key);
}

// ---- surfaces ------------------------------------------------------------------------------------

interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  path: (id: string, other: string) => string;
  body?: boolean;
  public?: boolean;
  /** Takes a query string (paging): hostile ones are drawn too. */
  query?: boolean;
}

const REST_ROUTES: Route[] = [
  { method: 'GET', path: () => '/sessions' },
  { method: 'GET', path: (id) => `/sessions/${id}` },
  { method: 'GET', path: (id) => `/sessions/${id}/messages`, query: true },
  { method: 'POST', path: (id) => `/sessions/${id}/end`, body: true },
  { method: 'POST', path: (id) => `/sessions/${id}/shares`, body: true },
  { method: 'GET', path: (id) => `/sessions/${id}/shares` },
  { method: 'DELETE', path: (id, other) => `/sessions/${id}/shares/${other}` },
  { method: 'GET', path: (_id, other) => `/shared/${other}`, public: true, query: true },
  { method: 'GET', path: () => '/me/export' },
  { method: 'DELETE', path: () => '/me' },
  { method: 'POST', path: (id) => `/admin/sessions/${id}/release`, body: true },
  { method: 'POST', path: () => '/files', body: true },
  { method: 'GET', path: (_id, other) => `/files/${other}` },
  { method: 'DELETE', path: (_id, other) => `/files/${other}` },
  { method: 'GET', path: (_id, other) => `/downloads/${other}`, public: true, query: true },
  { method: 'GET', path: () => '/healthz', public: true },
  { method: 'GET', path: () => '/readyz', public: true },
  // The web pages and their files (src/web): HTML for browsers, the JSON routes above otherwise (the
  // development host page exists in development only, so it is not here).
  { method: 'GET', path: () => '/', public: true, query: true },
  { method: 'GET', path: () => '/admin', public: true, query: true },
  { method: 'GET', path: () => '/embed.js', public: true, query: true },
  { method: 'GET', path: (_id, other) => `/assets/${other}`, public: true },
];

const SOCKET_EVENTS: Record<string, string[]> = {
  'session:start': ['modelId'],
  'session:resume': ['sessionId', 'afterSeq', 'limit'],
  'message:send': ['sessionId', 'clientMessageId', 'content', 'fileIds'],
  'message:stop': ['sessionId', 'messageId'],
  'model:select': ['sessionId', 'modelId'],
  typing: ['sessionId', 'isTyping'],
  'session:end': ['sessionId'],
  'help:request': ['sessionId', 'reason'],
  'help:cancel': ['sessionId'],
  'auth:refresh': ['token'],
};

/** The `/admin` events, sent with an admin's token. */
const ADMIN_SOCKET_EVENTS: Record<string, string[]> = {
  'admin:watch': ['sessionId'],
  'admin:unwatch': ['sessionId'],
  'admin:join': ['sessionId'],
  'admin:message': ['sessionId', 'clientMessageId', 'content'],
  'admin:typing': ['sessionId', 'isTyping'],
  'admin:leave': ['sessionId'],
};

const pathSegment = (realId: string) =>
  fc.oneof(
    fc.constant(realId),
    fc.uuid(),
    hostileText.map((t) => encodeURIComponent(t.replace(/\p{Cs}/gu, '\uFFFD'))),
    fc.constantFrom('%E0%A4%A', '..%2F..%2Fetc%2Fpasswd', '%00', 'x'.repeat(5000), '%7B%22%24ne%22%3A1%7D'),
  );
const queryValue = fc.oneof(
  fc.integer({ min: -5, max: 1e6 }).map(String),
  fc.constantFrom('', '1e309', 'NaN', '0x10', '1.5', '-0', '9007199254740993', '[$gt]=0', '%00', 'x'.repeat(5000)),
  hostileText.map((t) => encodeURIComponent(t.replace(/\p{Cs}/gu, '\uFFFD'))),
);
const queryString = fc.oneof(
  fc.constant(''),
  fc.tuple(queryValue, queryValue).map(([before, limit]) => `?beforeSeq=${before}&limit=${limit}`),
  queryValue.map((v) => `?beforeSeq[$gt]=${v}&limit=1&limit=2`),
  fc.constantFrom('?', '?&&', '?beforeSeq', '?unknown=1', '?__proto__[x]=1', '?limit=1&limit=2'),
  // What the pages read: the language, a session to open, a new chat.
  fc.tuple(queryValue, queryValue).map(([lang, id]) => `?lang=${lang}&session=${id}&new=${lang}`),
);
/** What a browser, an API client or an attacker asks for. */
const accept = fc.constantFrom(
  undefined,
  'text/html',
  'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'application/json',
  '*/*',
  'text/html;q=0, application/json',
  'text/html;q=abc',
  'text/html, , ;;q=,*/*;q=2',
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/json; charset=latin1',
);
const rawBody = fc.oneof(
  hostileValue.map((v) => JSON.stringify(v) ?? 'null'),
  fc.constantFrom('', '{', '{"a":1}}', 'null', '['.repeat(10000) + ']'.repeat(10000), 'a=1&b[$ne]=2'),
  fc.string({ maxLength: 100 }),
);

/** Engine.IO long polling by hand, to send what no client library would. */
class RawPolling {
  private sid = '';
  private readonly packets: string[] = [];

  constructor(private readonly baseUrl: string) {}

  async open(): Promise<void> {
    const body = await (await fetch(this.url())).text();
    this.sid = (JSON.parse(body.slice(1)) as { sid: string }).sid;
  }

  async send(...packets: string[]): Promise<void> {
    const res = await fetch(this.url(), {
      method: 'POST',
      body: packets.join('\x1e'),
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.status).toBe(200);
  }

  /** Polls until a packet starting with `prefix` arrives; undefined once the server has closed the session. */
  async receive(prefix: string): Promise<string | undefined> {
    for (;;) {
      const found = this.packets.find((p) => p.startsWith(prefix));
      if (found) return found;
      const res = await fetch(this.url());
      if (res.status !== 200) return undefined;
      const packets = (await res.text()).split('\x1e');
      if (packets.includes('1')) return undefined;
      if (packets.includes('2')) await this.send('3');
      this.packets.push(...packets);
    }
  }

  private url(): string {
    return `${this.baseUrl}/chatbox/socket.io/?EIO=4&transport=polling${this.sid ? `&sid=${this.sid}` : ''}`;
  }
}

describe('the hostile-input corpus, against the service process', () => {
  let p: ChatboxProcess;
  let baseUrl: string;
  let secret: string;
  let client: ChatClient;
  let sessionId: string;
  const opened: { close(): void }[] = [];

  beforeAll(async () => {
    p = new ChatboxProcess(
      testEnv({
        DEMO_DELTA_INTERVAL_MS: '0',
        RATE_LIMIT_EVENTS: '100000',
        PUBLIC_RATE_LIMIT_PER_MINUTE: '100000',
        HANDSHAKE_RATE_LIMIT_PER_MINUTE: '100000',
        TURN_QUEUE_LIMIT: '100',
      }),
    );
    baseUrl = await p.listening();
    secret = p.env.JWT_SECRET;
    client = await ChatClient.connect(baseUrl, await signToken(secret, { sub: `u-${randomUUID()}` }));
    ({ sessionId } = await client.ok<{ sessionId: string }>('session:start', {}));
  });
  afterAll(async () => {
    opened.forEach((o) => o.close());
    client.close();
    await p.stop();
  });

  it('accepts a handshake exactly when its token is valid, for any claims, times and algorithm', async () => {
    const kinds = new Set<boolean>();
    await fc.assert(
      fc.asyncProperty(tokenCase(nowS()), async (token) => {
        const now = nowS();
        const attempt = new ChatClient(baseUrl, { token: await encodeToken(token, secret) });
        opened.push(attempt);
        const outcome = await attempt.connected().then(
          () => 'connected',
          (error: { data?: { code: string } }) => error.data?.code ?? 'transport error',
        );
        attempt.close();
        const accept = shouldAccept(token, now);
        kinds.add(accept);
        if (accept) expect(outcome).toBe('connected');
        else expect(['unauthorized', 'token_expired']).toContain(outcome);
      }),
      // Examples count among the runs: 100 drawn ones besides.
      { numRuns: RUNS.numRuns + 2, examples: [[plainTokens(nowS()).valid], [plainTokens(nowS()).invalid]] },
    );
    expect(kinds).toEqual(new Set([true, false]));
  });

  it('answers auth:refresh with any token as the README says, and keeps the socket', async () => {
    const sub = `u-${randomUUID()}`;
    const refresher = await ChatClient.connect(baseUrl, await signToken(secret, { sub }));
    opened.push(refresher);
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(tokenCase(nowS()), fc.boolean(), async (drawn, sameUser) => {
        const now = nowS();
        const token = sameUser ? { ...drawn, claims: { ...drawn.claims, sub: JSON.stringify(sub) } } : drawn;
        const jwt = await encodeToken(token, secret);
        const ack = await refresher.call<{ expiresAt: string }>('auth:refresh', { token: jwt });
        if (jwt.length > 8192) {
          expect(ack.error?.code).toBe('invalid_payload');
        } else if (!shouldAccept(token, now)) {
          outcomes.add('refused');
          expect(['unauthorized', 'token_expired']).toContain(ack.error?.code);
        } else if (sameUser) {
          outcomes.add('swapped');
          expect(ack).toMatchObject({ ok: true, data: { expiresAt: expect.any(String) as string } });
        } else {
          outcomes.add('forbidden');
          expect(ack.error?.code).toBe('forbidden');
        }
      }),
      {
        numRuns: RUNS.numRuns + 3,
        examples: [
          [plainTokens(nowS()).valid, true],
          [plainTokens(nowS()).valid, false],
          [plainTokens(nowS()).invalid, true],
        ],
      },
    );
    expect(outcomes).toEqual(new Set(['refused', 'swapped', 'forbidden']));
    expect(refresher.socket.connected).toBe(true);
    expect(refresher.named('error')).toEqual([]);
  });

  it('stores message content exactly as sent, or refuses it with invalid_payload', async () => {
    const kinds = new Set<boolean>();
    await fc.assert(
      fc.asyncProperty(hostileText, async (content) => {
        const ack = await client.call<{ seq: number }>('message:send', {
          sessionId,
          clientMessageId: randomUUID(),
          content,
        });
        const refuse = hasLoneSurrogate(content) || isBlank(content) || codePoints(content) > 10000;
        kinds.add(refuse);
        if (refuse) {
          expect(ack).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
          return;
        }
        if (!ack.ok) return expect(ack.error.code).toBe('busy');
        const { messages } = await client.ok<{ messages: { content: string }[] }>('session:resume', {
          sessionId,
          afterSeq: ack.data.seq - 1,
        });
        expect(messages[0].content).toBe(content);
      }),
      RUNS,
    );
    expect(kinds).toEqual(new Set([true, false]));
  });

  it('answers every event with any hostile field value, never with internal_error', async () => {
    const fields = Object.entries(SOCKET_EVENTS).flatMap(([event, names]) => names.map((name) => [event, name]));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fields), hostileValue, async ([event, field], value) => {
        const ack = await client.call(event, { sessionId, [field]: value });
        expect(ack.ok === true || ack.error.code !== 'internal_error').toBe(true);
      }),
      RUNS,
    );
    expect(client.socket.connected).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers every admin event with any hostile field value, never with internal_error', async () => {
    const admin = new AdminClient(baseUrl, await signToken(secret, { sub: `a-${randomUUID()}`, roles: ['admin'] }));
    opened.push(admin);
    await admin.connected();
    const fields = Object.entries(ADMIN_SOCKET_EVENTS).flatMap(([event, names]) => names.map((name) => [event, name]));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fields), hostileValue, async ([event, field], value) => {
        const ack = await admin.call(event, { sessionId, [field]: value });
        expect(ack.ok === true || ack.error.code !== 'internal_error').toBe(true);
      }),
      RUNS,
    );
    expect(admin.socket.connected).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses every namespace but /chat to a user', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constantFrom('', 'admin', 'chat/', 'CHAT', '..', '%2Fchat', 'chat?x=1', 'chat#', '/chat'),
          fc.string({ maxLength: 20 }),
        ),
        async (name) => {
          fc.pre(name !== 'chat');
          // Through a Manager the name goes into the CONNECT packet as it is, with no URL parsing on the way.
          const manager = new Manager(baseUrl, {
            path: '/chatbox/socket.io',
            transports: ['websocket'],
            reconnection: false,
          });
          const socket = manager.socket(`/${name}`, { auth: { token: await signToken(secret) } });
          opened.push(socket);
          // A "," in the name breaks the packet format itself: the server drops the connection.
          const connected = await new Promise<boolean>((resolve) => {
            socket.once('connect', () => resolve(true));
            socket.once('connect_error', () => resolve(false));
            manager.once('close', () => resolve(false));
          });
          socket.close();
          expect(connected).toBe(false);
        },
      ),
      RUNS,
    );
  });

  it('answers raw socket packets no client library would send, and drops only the connection that breaks the protocol', async () => {
    const raw = new RawPolling(baseUrl);
    await raw.open();
    await raw.send(`40/chat,${JSON.stringify({ token: await signToken(secret) })}`);
    expect(await raw.receive('40/chat,')).toContain('"sid"');
    const deepJson = '['.repeat(10000) + ']'.repeat(10000);
    const event = (id: number, ...args: string[]) => `42/chat,${id}[${args.join(',')}]`;
    await raw.send(
      event(1, '"typing"', deepJson),
      event(2, '"session:start"', `{"modelId":${deepJson}}`),
      event(
        3,
        '"message:send"',
        `{"sessionId":"${sessionId}","clientMessageId":"raw","content":{"_placeholder":true,"num":0}}`,
      ),
      event(4, '"message:send"'),
    );
    for (const id of [1, 2, 3, 4]) {
      expect(await raw.receive(`43/chat,${id}[`)).toContain('"code":"invalid_payload"');
    }
    await raw.send('42/chat,5[');
    expect(await raw.receive('43/chat,5[')).toBeUndefined();
    expect(client.socket.connected).toBe(true);
  });

  it('answers every REST route and page with any path, body, media type, Accept and token: never a 5xx, always the error shape', async () => {
    const { sessionId: restSession } = await client.ok<{ sessionId: string }>('session:start', {});
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...REST_ROUTES),
        pathSegment(restSession),
        pathSegment(randomUUID()),
        fc.option(fc.tuple(rawBody, contentType)),
        queryString,
        accept,
        fc.oneof(
          fc.constant(signToken(secret, { sub: `u-${randomUUID()}` })),
          tokenCase(nowS()).map((t) => encodeToken(t, secret)),
          fc.constantFrom('', 'Bearer', 'Bearer a.b.c', 'Basic dXNlcjpwYXNz').map((h) => Promise.resolve(h)),
        ),
        async (route, id, other, body, query, acceptHeader, token) => {
          const raw = await token;
          const headers: Record<string, string> = {
            authorization: raw.startsWith('ey') ? `Bearer ${raw}` : raw,
          };
          if (body) headers['content-type'] = body[1];
          if (acceptHeader !== undefined) headers.accept = acceptHeader;
          const res = await fetch(`${baseUrl}/chatbox${route.path(id, other)}${route.query ? query : ''}`, {
            method: route.method,
            headers,
            body: route.body && body ? body[0] : undefined,
          });
          expect(res.status).toBeLessThan(500);
          expect(res.headers.get('x-content-type-options')).toBe('nosniff');
          if (res.status >= 400) {
            expect(await res.json()).toEqual({
              statusCode: res.status,
              code: expect.any(String) as string,
              message: expect.any(String) as string,
            });
          }
        },
      ),
      RUNS,
    );
  });

  it('is still up and healthy after all of that, and logged no error', async () => {
    expect(p.running).toBe(true);
    expect((await fetch(`${baseUrl}/chatbox/healthz`)).status).toBe(200);
    expect((await fetch(`${baseUrl}/chatbox/readyz`)).status).toBe(200);
    const fresh = await ChatClient.connect(baseUrl, await signToken(secret));
    opened.push(fresh);
    const { sessionId: id } = await fresh.ok<{ sessionId: string }>('session:start', {});
    await fresh.ok('message:send', { sessionId: id, clientMessageId: randomUUID(), content: 'Are you still there?' });
    expect(await fresh.waitForEvent('ai:end')).toMatchObject({ sessionId: id, finishReason: 'stop' });
    const errors = p.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string })
      .filter((line) => line.level >= 50);
    expect(errors).toEqual([]);
  });
});
