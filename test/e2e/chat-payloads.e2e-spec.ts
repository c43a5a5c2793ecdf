import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import mongoose from 'mongoose';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';

const EVENTS = [
  'session:start',
  'session:resume',
  'message:send',
  'message:stop',
  'model:select',
  'typing',
  'session:end',
  'auth:refresh',
];

// Values that must never pass as a field of the given kind: operators, wrong types, oversized strings
// (longer than any field allows, yet under the 64 KB frame limit, which closes the socket instead).
const operators = fc.constantFrom({ $gt: '' }, { $ne: null }, { $where: 'sleep(1000)' }, { $regex: '.*' }, { $in: [] });
const anyObject = fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { minKeys: 1, maxKeys: 3 });
const HOSTILE = {
  string: fc.oneof(
    operators,
    anyObject,
    fc.constantFrom([], ['a'], null, 12, true),
    fc.string({ minLength: 20000, maxLength: 20010 }),
  ),
  count: fc.oneof(operators, anyObject, fc.constantFrom(null, -1, 1.5, 'twelve', true, [1], Number.MAX_VALUE)),
  flag: fc.oneof(operators, anyObject, fc.constantFrom(null, 0, 1, 'true', [], ['x'])),
  ids: fc.oneof(operators, anyObject, fc.constantFrom(null, 'a', [1], [{ $gt: '' }], Array(11).fill('f'), [''])),
};
const KIND: Record<string, keyof typeof HOSTILE> = {
  afterSeq: 'count',
  limit: 'count',
  isTyping: 'flag',
  fileIds: 'ids',
};
const hostileFor = (field: string) => HOSTILE[KIND[field] ?? 'string'];

const FIELDS: Record<string, string[]> = {
  'session:start': ['modelId'],
  'session:resume': ['sessionId', 'afterSeq', 'limit'],
  'message:send': ['sessionId', 'clientMessageId', 'content', 'fileIds'],
  'message:stop': ['sessionId', 'messageId'],
  'model:select': ['sessionId', 'modelId'],
  typing: ['sessionId', 'isTyping'],
  'session:end': ['sessionId'],
  'auth:refresh': ['token'],
};

describe('payload validation (property tests)', () => {
  let t: TestApp;
  let client: ChatClient;
  let sessionId: string;
  let messages: () => Promise<number>;
  let connection: mongoose.Connection;

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_EVENTS: '100000', RATE_LIMIT_TYPING_EVENTS: '100000' });
    client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
    ({ sessionId } = await client.ok<{ sessionId: string }>('session:start', {}));
    connection = await mongoose.createConnection(t.env.MONGODB_URI).asPromise();
    messages = () => connection.collection('messages').countDocuments();
  });
  afterAll(async () => {
    client.close();
    await connection.close();
    await t.close();
  });

  const valid = (event: string): Record<string, unknown> =>
    ({
      'session:start': {},
      'session:resume': { sessionId, afterSeq: 0 },
      'message:send': { sessionId, clientMessageId: 'ok-1', content: 'hi' },
      'message:stop': { sessionId },
      'model:select': { sessionId, modelId: 'demo' },
      typing: { sessionId, isTyping: true },
      'session:end': { sessionId },
      'auth:refresh': { token: 'x' },
    })[event] as Record<string, unknown>;

  it.each(EVENTS)('refuses a hostile value in any field of %s with invalid_payload, storing nothing', async (event) => {
    const before = await messages();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...FIELDS[event]).chain((field) => fc.tuple(fc.constant(field), hostileFor(field))),
        async ([field, value]) => {
          const ack = await client.call(event, { ...valid(event), [field]: value });
          expect(ack).toMatchObject({ ok: false, error: { code: 'invalid_payload', recoverable: false } });
        },
      ),
      { numRuns: 100 },
    );
    expect(await messages()).toBe(before);
  });

  it.each(EVENTS)('refuses non-objects, unknown fields and prototype keys for %s', async (event) => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constantFrom('a string', 42, null, [valid(event)], true),
          fc.constant(JSON.parse(`{"__proto__": {"polluted": true}}`) as object),
          fc.constant({ ...valid(event), constructor: { prototype: { polluted: true } } }),
          fc
            .string({ minLength: 1, maxLength: 8 })
            .filter((k) => !FIELDS[event].includes(k))
            .map((k) => ({ ...valid(event), [k]: 1 })),
        ),
        async (payload) => {
          const ack = await client.call(event, payload);
          expect(ack).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
        },
      ),
      { numRuns: 100 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('closes only the socket that sends a frame over the limit', async () => {
    const other = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET));
    const disconnected = new Promise<string>((resolve) => other.socket.once('disconnect', resolve));
    other.socket.emit('message:send', { sessionId, clientMessageId: 'big', content: 'x'.repeat(70000) });
    expect(await disconnected).toBe('transport close');
    expect(client.socket.connected).toBe(true);
  });

  it('is still alive and serving after all of that', async () => {
    const ack = await client.ok<{ session: { id: string } }>('session:resume', { sessionId });
    expect(ack.session.id).toBe(sessionId);
  });
});

describe('event rate limit', () => {
  it("answers rate_limited with retryAfterMs once a user exceeds the limit, across the user's sockets", async () => {
    const t = await startTestApp({
      RATE_LIMIT_EVENTS: '5',
      RATE_LIMIT_WINDOW_MS: '60000',
      REDIS_URL: process.env.CHATBOX_TEST_REDIS_URL,
    });
    const token = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` });
    const [a, b] = [await ChatClient.connect(t.baseUrl, token), await ChatClient.connect(t.baseUrl, token)];
    try {
      for (let i = 0; i < 3; i++) await a.ok('session:start', {});
      for (let i = 0; i < 2; i++) await b.ok('session:start', {});
      const limited = await b.call('session:start', {});
      expect(limited).toMatchObject({ ok: false, error: { code: 'rate_limited', recoverable: true } });
      expect(limited.error.retryAfterMs).toBeGreaterThan(0);
      expect(limited.error.retryAfterMs).toBeLessThanOrEqual(60000);
    } finally {
      a.close();
      b.close();
      await t.close();
    }
  });

  it('gives typing a budget of its own: typing never uses up the message budget, nor the other way round', async () => {
    const t = await startTestApp({
      RATE_LIMIT_EVENTS: '4',
      RATE_LIMIT_TYPING_EVENTS: '3',
      RATE_LIMIT_WINDOW_MS: '60000',
    });
    const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
    try {
      const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
      for (let i = 0; i < 3; i++) await client.ok('typing', { sessionId, isTyping: i % 2 === 0 });
      expect(await client.call('typing', { sessionId, isTyping: true })).toMatchObject({
        ok: false,
        error: { code: 'rate_limited' },
      });
      // Three more events on the message budget (four in all) still go through.
      await client.ok('session:resume', { sessionId });
      await client.ok('model:select', { sessionId, modelId: 'demo' });
      await client.ok('session:resume', { sessionId });
      expect(await client.call('session:resume', { sessionId })).toMatchObject({
        ok: false,
        error: { code: 'rate_limited' },
      });
    } finally {
      client.close();
      await t.close();
    }
  });
});
