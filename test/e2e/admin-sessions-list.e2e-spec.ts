import { randomUUID } from 'node:crypto';
import { getModelToken } from '@nestjs/mongoose';
import mongoose, { Connection, Model } from 'mongoose';
import { SESSION_FIELDS_VERSION, SessionDoc, SessionSchema } from '../../src/session/schemas/session.schema';
import { AdminSessionFilter, adminListQuery, outdatedSortFields } from '../../src/session/session.repository';
import { ChatClient, signToken } from '../utils/chat-client';
import { declaresIndex, readExplain } from '../utils/explain';
import { startTestApp, TestApp, testEnv, testMongoUri } from '../utils/test-app';

interface Row {
  id: string;
  userId: string;
  status: string;
  owner: string;
  modelId: string;
  startedAt: string;
  lastActivityAt: string;
  durationMs: number;
  messageCount: number;
  totalTokens: number;
  assisted: boolean;
  helpRequests: number;
  name: string | null;
}
interface Page {
  sessions: Row[];
  nextCursor: string | null;
  total?: number;
}
/** The fields a session document needs, seeded with known values. */
interface Seed {
  _id: string;
  userId: string;
  status: 'active' | 'ended';
  owner: string;
  modelId: string;
  startedAt: Date;
  lastActivityAt: Date;
  durationMs: number;
  messageCount: number;
  totalTokens: number;
  assisted: boolean;
  helpRequests: number;
}

const SORTS = ['startedAt', 'lastActivityAt', 'durationMs', 'userId', 'messageCount', 'totalTokens'] as const;
type SortField = (typeof SORTS)[number];
const BASE = Date.parse('2026-06-01T00:00:00Z');
const hours = (n: number) => new Date(BASE + n * 3_600_000);

/** A session document as the service stores one, with the figures given. */
function document(seed: Seed) {
  const ended = seed.status === 'ended';
  return {
    ...seed,
    activeKey: ended ? `ended:${seed._id}` : `${seed.userId}:${seed._id}`,
    epoch: seed.owner === 'ai' ? 0 : 1,
    hold: seed.owner === 'ai' ? null : { adminId: seed.owner.slice(6), since: seed.startedAt, seenAt: seed.startedAt },
    lastSeenAt: seed.lastActivityAt,
    endedAt: ended ? new Date(seed.startedAt.getTime() + seed.durationMs) : undefined,
    lastSeq: seed.messageCount,
    tokens: { prompt: seed.totalTokens, completion: 0 },
    responseTime: { count: 0, sumMs: 0, maxMs: 0 },
    turnTime: { count: 0, sumMs: 0, maxMs: 0 },
    rev: 0,
    helpOpen: false,
    aiHelpAsked: false,
    nameIndex: [],
  };
}

/** 24 sessions whose sort fields repeat, so ties (broken by id) occur on every sort. */
function seeds(modelId: string): Seed[] {
  return Array.from({ length: 24 }, (_, i) => {
    const ended = i % 3 !== 0;
    return {
      _id: randomUUID(),
      userId: `user-${i % 5}`,
      status: ended ? 'ended' : 'active',
      owner: i % 4 === 0 ? 'ai' : i % 4 === 1 ? 'admin:ann' : i % 4 === 2 ? 'admin:bob' : 'ai',
      modelId,
      startedAt: hours(i % 8),
      lastActivityAt: hours(10 + ((i * 7) % 12)),
      durationMs: ended ? ((i * 5) % 9) * 1000 : 0,
      messageCount: (i * 3) % 7,
      totalTokens: ((i * 11) % 13) * 10,
      assisted: i % 4 === 1 || i % 4 === 2,
      helpRequests: i % 6 === 0 ? 0 : i % 2,
    };
  });
}

/** The oracle: the seeds in (field, _id) order, compared the way MongoDB compares the field's type. */
function ordered(rows: Seed[], field: SortField, order: 'asc' | 'desc'): string[] {
  const key = (s: Seed): number | string => {
    const value = s[field];
    return value instanceof Date ? value.getTime() : value;
  };
  const sign = order === 'asc' ? 1 : -1;
  return [...rows]
    .sort((a, b) => {
      const [x, y] = [key(a), key(b)];
      if (x !== y) return (x < y ? -1 : 1) * sign;
      return (a._id < b._id ? -1 : 1) * sign;
    })
    .map((s) => s._id);
}

/**
 * A value of the field that sorts before every seed and every earlier low (`n` grows), or after every seed
 * and every earlier high: so it lands on the side of the cursor the test expects, never tied with another.
 */
function extreme(field: SortField, end: 'low' | 'high', n: number): Partial<Seed> {
  const step = end === 'low' ? -n : n;
  switch (field) {
    case 'startedAt':
      return { startedAt: hours(step * 100) };
    case 'lastActivityAt':
      return { lastActivityAt: hours(step * 100) };
    case 'userId':
      return { userId: end === 'low' ? `a-${String(1000 - n).padStart(4, '0')}` : `z-${String(n).padStart(4, '0')}` };
    default:
      return { [field]: step * 1_000_000 };
  }
}

describe('GET /admin/sessions', () => {
  let t: TestApp;
  let db: Connection;
  let adminAuth: Record<string, string>;
  const model = `seed-${randomUUID().slice(0, 8)}`;
  const seeded = seeds(model);

  const get = (query: string, headers = adminAuth) =>
    fetch(`${t.baseUrl}/chatbox/admin/sessions?${query}`, { headers });
  const page = async (query: string) => {
    const res = await get(query);
    expect(res.status).toBe(200);
    return (await res.json()) as Page;
  };
  const ids = async (query: string) => (await page(`modelId=${model}&limit=100&${query}`)).sessions.map((s) => s.id);
  const expectError = async (query: string, status: number, message: RegExp) => {
    const res = await get(query);
    const body = (await res.json()) as { code: string; message: string };
    expect({ status: res.status, code: body.code }).toEqual({
      status,
      code: status === 403 ? 'forbidden' : 'invalid_payload',
    });
    expect(body.message).toMatch(message);
  };

  beforeAll(async () => {
    t = await startTestApp({ DEMO_DELTA_INTERVAL_MS: '0' });
    db = await mongoose.createConnection(t.env.MONGODB_URI).asPromise();
    adminAuth = {
      authorization: `Bearer ${await signToken(t.env.JWT_SECRET, { sub: 'ann', name: 'Ann', roles: ['admin'] })}`,
    };
    await db.collection('chat_sessions').insertMany(seeded.map(document) as never[]);
  });
  afterAll(async () => {
    await db?.close();
    await t?.close();
  });

  describe.each(SORTS)('sorted on %s', (field) => {
    it.each(['asc', 'desc'] as const)(
      'pages %s without duplicates or gaps while sessions are inserted between requests',
      async (order) => {
        // This test's own copy of the seeds, so the sessions it inserts disturb no other test.
        const tag = `${model}-${field}-${order}`;
        const copies = seeded.map((s) => ({ ...s, _id: randomUUID(), modelId: tag }));
        await db.collection('chat_sessions').insertMany(copies.map(document) as never[]);
        const shown: Seed[] = [];
        const seen: string[] = [];
        let cursor: string | null = null;
        let request = 0;
        do {
          const body = await page(
            `modelId=${tag}&sort=${field}&order=${order}&limit=5` + (cursor ? `&cursor=${cursor}` : ''),
          );
          seen.push(...body.sessions.map((s) => s.id));
          cursor = body.nextCursor;
          // Two sessions arrive between requests: one sorting before the cursor (never shown), one after it.
          for (const end of cursor ? (['low', 'high'] as const) : []) {
            const extra = {
              ...copies[request % copies.length],
              _id: randomUUID(),
              ...extreme(field, end, request + 1),
            };
            await db.collection('chat_sessions').insertOne(document(extra) as never);
            if ((order === 'asc') === (end === 'high')) shown.push(extra);
          }
          request++;
        } while (cursor);

        expect(new Set(seen).size).toBe(seen.length);
        expect(seen).toEqual(ordered([...copies, ...shown], field, order));
        expect(request).toBeGreaterThan(4);
      },
    );
  });

  it('answers the default order (most recently active first) with the view administrators see', async () => {
    const body = await page(`modelId=${model}&limit=3`);
    expect(body.sessions.map((s) => s.id)).toEqual(ordered(seeded, 'lastActivityAt', 'desc').slice(0, 3));
    const first = seeded.find((s) => s._id === body.sessions[0].id) as Seed;
    expect(body.sessions[0]).toMatchObject({
      userId: first.userId,
      status: first.status,
      owner: first.owner,
      durationMs: first.durationMs,
      messageCount: first.messageCount,
      totalTokens: first.totalTokens,
      assisted: first.assisted,
      helpRequests: first.helpRequests,
    });
    expect(body.total).toBeUndefined();
  });

  it.each([
    ['userId=user-2', (s: Seed) => s.userId === 'user-2'],
    ['status=active', (s: Seed) => s.status === 'active'],
    ['status=ended', (s: Seed) => s.status === 'ended'],
    ['owner=ai', (s: Seed) => s.owner === 'ai'],
    ['owner=admin', (s: Seed) => s.owner !== 'ai'],
    ['owner=admin:bob', (s: Seed) => s.owner === 'admin:bob'],
    ['assisted=true', (s: Seed) => s.assisted],
    ['assisted=false', (s: Seed) => !s.assisted],
    ['helpRequested=true', (s: Seed) => s.helpRequests > 0],
    ['helpRequested=false', (s: Seed) => s.helpRequests === 0],
    [`from=${hours(2).toISOString()}`, (s: Seed) => s.startedAt >= hours(2)],
    [`to=${encodeURIComponent('2026-06-01T05:00:00+02:00')}`, (s: Seed) => s.startedAt < hours(3)],
    [
      `from=${hours(1).toISOString()}&to=${hours(4).toISOString()}&status=ended&owner=admin`,
      (s: Seed) => s.startedAt >= hours(1) && s.startedAt < hours(4) && s.status === 'ended' && s.owner !== 'ai',
    ],
  ])('filters on %s, with the exact total of every page', async (query, match) => {
    const expected = ordered(seeded.filter(match), 'startedAt', 'asc');
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(seeded.length);

    const first = await page(`modelId=${model}&${query}&sort=startedAt&order=asc&limit=4&withTotal=true`);

    expect(first.total).toBe(expected.length);
    expect(await ids(`${query}&sort=startedAt&order=asc`)).toEqual(expected);
    expect(first.sessions.map((s) => s.id)).toEqual(expected.slice(0, 4));
  });

  it('finds sessions by the start of their name, in any case, though names are stored encrypted', async () => {
    const named: Record<string, string> = {};
    for (const content of ['Refund for order 42', 'REFUNDS are slow', 'Shipping delay', 'My refund']) {
      const client = await ChatClient.connect(
        t.baseUrl,
        await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` }),
      );
      try {
        const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
        const { messageId } = await client.ok<{ messageId: string }>('message:send', {
          sessionId,
          clientMessageId: randomUUID(),
          content,
        });
        await client.waitForEvent('ai:end', (e) => e.replyTo === messageId);
        named[content] = sessionId;
      } finally {
        client.close();
      }
    }
    const stored = await db.collection('chat_sessions').findOne({ _id: named['Shipping delay'] as never });
    expect(stored?.name).not.toContain('Shipping');
    // A reply adds its tokens to the total the list sorts on, as it adds them to the session's counters.
    const [listed] = (await page(`userId=${stored?.userId as string}`)).sessions;
    const tokens = stored?.tokens as { prompt: number; completion: number };
    expect(tokens.completion).toBeGreaterThan(0);
    expect(listed.totalTokens).toBe(tokens.prompt + tokens.completion);

    const search = async (q: string) =>
      (await page(`q=${encodeURIComponent(q)}&sort=startedAt&order=asc&limit=100`)).sessions.map((s) => s.name);

    expect(await search('refund')).toEqual(['Refund for order 42', 'REFUNDS are slow']);
    expect(await search('Refund f')).toEqual(['Refund for order 42']);
    expect(await search('ship')).toEqual(['Shipping delay']);
    expect(await search('delay')).toEqual([]);
  });

  it('counts the length of q in code points, as the name index does: astral characters once, emoji selectors too', async () => {
    // 40 CJK ideographs beyond the BMP: 40 code points, 80 UTF-16 units.
    const astral = Array.from({ length: 40 }, (_, i) => String.fromCodePoint(0x20000 + i)).join('');
    // An emoji with its presentation selector: 2 code points, which class-validator (validator.js) counts as 1.
    const smile = '\u263A\uFE0F';
    const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` }));
    try {
      const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
      const { messageId } = await client.ok<{ messageId: string }>('message:send', {
        sessionId,
        clientMessageId: randomUUID(),
        content: `${smile}${astral} and more`,
      });
      await client.waitForEvent('ai:end', (e) => e.replyTo === messageId);
      for (const q of [`${smile}${astral}`, smile + String.fromCodePoint(0x20000)]) {
        expect((await page(`q=${encodeURIComponent(q)}&limit=100`)).sessions.map((s) => s.id)).toEqual([sessionId]);
      }
    } finally {
      client.close();
    }
    await expectError(`q=${encodeURIComponent(astral.slice(0, 4))}`, 400, /q must be at least 3 characters/);
    for (const long of [String.fromCodePoint(0x20000).repeat(65), smile.repeat(33)]) {
      await expectError(`q=${encodeURIComponent(long)}`, 400, /q must be at most 64 characters/);
    }
  });

  it.each([
    ['sort_by=password', 400, /sort_by should not exist/],
    ['sort=password', 400, /sort must be one of/],
    ['sort=%24where', 400, /sort must be one of/],
    ['filter%5B%24ne%5D=', 400, /filter\[\$ne\]/],
    ['userId%5B%24ne%5D=x', 400, /userId\[\$ne\]/],
    ['order=sideways', 400, /order must be one of/],
    ['from=2026-06-01', 400, /from must be an RFC 3339 date-time/],
    ['to=2026-02-30T00:00:00Z', 400, /to is not a date on the calendar/],
    [`from=${hours(3).toISOString()}&to=${hours(2).toISOString()}`, 400, /from must be before to/],
    ['owner=somebody', 400, /owner must be ai, admin or admin:<id>/],
    ['assisted=yes', 400, /assisted must be true or false/],
    ['q=ab', 400, /q must be at least 3 characters/],
    ['limit=0', 400, /limit must not be less than 1/],
    ['cursor=bm90LWpzb24', 400, /cursor is not valid/],
  ])('refuses %s (%i invalid_payload)', async (query, status, message) => {
    await expectError(query, status, message);
  });

  it('pages on userId through the longest user ids a token may carry', async () => {
    const tag = `${model}-long-ids`;
    const users = ['a', 'b', 'c'].map((last) => `${'"'.repeat(127)}${last}`);
    await db
      .collection('chat_sessions')
      .insertMany(
        users.map((userId, i) => document({ ...seeded[i], _id: randomUUID(), userId, modelId: tag })) as never[],
      );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const body = await page(`modelId=${tag}&sort=userId&order=asc&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...body.sessions.map((s) => s.userId));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(users);
  });

  it('refuses a cursor made for another sort or order', async () => {
    const { nextCursor } = await page(`modelId=${model}&sort=messageCount&order=asc&limit=2`);
    expect(nextCursor).not.toBeNull();
    await expectError(`sort=messageCount&order=desc&cursor=${nextCursor}`, 400, /another sort or order/);
    await expectError(`sort=totalTokens&order=asc&cursor=${nextCursor}`, 400, /another sort or order/);
  });

  it('refuses a user token (403 forbidden)', async () => {
    const token = await signToken(t.env.JWT_SECRET, { sub: 'just-a-user' });
    const res = await get('', { authorization: `Bearer ${token}` });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe('forbidden');
  });
});

describe('the admin list queries, explained on the server', () => {
  const PAGE = 21; // a page of 20 and the one that tells whether another follows
  const COUNT = 300;
  // The documents a walk may read beyond the page: those failing the filter (one in ten here, spread over
  // every order) and the ends of the start-time range. A collection scan or a sort in memory reads ~300.
  const SLACK = 15;
  let db: Connection;
  let sessions: Model<SessionDoc>;
  const docs: Seed[] = [];

  /** Every filter, with values most sessions match, so a page found by walking an index is cheap to find. */
  const filters: [string, AdminSessionFilter][] = [
    ['nothing', {}],
    ['userId', { userId: 'user-1' }],
    ['status', { status: 'ended' }],
    ['owner=admin', { owner: 'admin' }],
    ['owner=admin:<id>', { owner: 'admin:ann' }],
    ['assisted', { assisted: true }],
    ['helpRequested', { helpRequested: true }],
    ['modelId', { modelId: 'gpt' }],
    ['from and to', { from: hours(10), to: hours(COUNT - 5) }],
    ['q', { nameLookups: ['abc'] }],
    ['status, owner and from', { status: 'ended', owner: 'admin', from: hours(10) }],
  ];
  /** The filters FerretDB can hand its backend (top-level equality and $ne), by the stored field they read. */
  const pushable: Partial<Record<keyof AdminSessionFilter, string>> = {
    userId: 'userId',
    status: 'status',
    owner: 'owner',
    assisted: 'assisted',
    helpRequested: 'helpRequests',
    modelId: 'modelId',
    nameLookups: 'nameIndex',
  };
  /** The indexes of their own some filters have, besides the sort's that every filter can be walked on. */
  const filterIndexes: Partial<Record<keyof AdminSessionFilter, Record<string, 1 | -1>>> = {
    userId: { userId: 1, lastActivityAt: -1, _id: -1 },
    owner: { owner: 1, status: 1 },
    nameLookups: { nameIndex: 1 },
  };

  beforeAll(async () => {
    db = await mongoose.createConnection(testMongoUri()).asPromise();
    sessions = db.model(SessionDoc.name, SessionSchema);
    await sessions.init();
    for (let i = 0; i < COUNT; i++) {
      const odd = i % 10 === 5; // fails every filter above
      docs.push({
        _id: randomUUID(),
        userId: odd ? 'user-0' : 'user-1',
        status: odd ? 'active' : 'ended',
        owner: odd ? 'ai' : 'admin:ann',
        modelId: odd ? 'other' : 'gpt',
        startedAt: hours(i),
        lastActivityAt: hours((i * 7) % COUNT),
        durationMs: ((i * 13) % COUNT) * 1000,
        messageCount: (i * 17) % COUNT,
        totalTokens: (i * 19) % COUNT,
        assisted: !odd,
        helpRequests: odd ? 0 : 1,
      });
    }
    await sessions.collection.insertMany(
      docs.map((seed, i) => ({ ...document(seed), nameIndex: i % 10 === 5 ? [] : ['abc', 'abd'] })) as never[],
    );
  });
  afterAll(async () => {
    await db?.dropDatabase();
    await db?.close();
  });

  it.each(SORTS.flatMap((sort) => filters.map(([name, where]) => [sort, name, where] as const)))(
    'sorted on %s, filtered on %s: each page read through an index, first and later',
    async (sort, _name, where) => {
      // On both servers: the schema declares the sort's index and the filters' own, so dropping one fails here.
      expect(declaresIndex(SessionSchema, { [sort]: 1, _id: 1 })).toBe(true);
      for (const field of Object.keys(where) as (keyof AdminSessionFilter)[]) {
        const own = filterIndexes[field];
        if (own) expect(declaresIndex(SessionSchema, own)).toBe(true);
      }
      const middle = ordered(docs, sort, 'desc')[COUNT / 2];
      const cursor = { value: (docs.find((d) => d._id === middle) as Seed)[sort], id: middle };
      for (const after of [undefined, cursor]) {
        const query = adminListQuery(where, sort, 'desc', after);
        const explained = readExplain(
          await sessions.find(query.filter).sort(query.sort).limit(PAGE).explain('executionStats'),
        );
        if (explained.server === 'mongodb') {
          const stages = explained.stages.map((s) => s.stage);
          expect(stages).not.toContain('COLLSCAN');
          expect(stages).toContain('IXSCAN');
          expect(explained.docsExamined).toBeLessThanOrEqual(PAGE + SLACK);
          if (Object.keys(where).length === 0) {
            expect(stages).not.toContain('SORT');
            expect(explained.stages.filter((s) => s.stage === 'IXSCAN').map((s) => s.keyPattern)).toContainEqual({
              [sort]: 1,
              _id: 1,
            });
          }
        } else {
          // FerretDB v1 sorts in its own layer and scans; what it can prove is that every equality and $ne
          // filter reaches its backend, named in the backend's plan.
          const pushed = (Object.keys(where) as (keyof AdminSessionFilter)[]).flatMap((f) => pushable[f] ?? []);
          expect(explained.filterPushdown).toBe(pushed.length > 0);
          for (const field of pushed) expect(explained.backendPlan).toContain(`'${field}'::text`);
        }
      }
    },
  );
});

describe('GET /admin/sessions on sessions an earlier version stored', () => {
  it('gives them their token total, duration and name index at boot, so they sort and are found, past any number a later version marked', async () => {
    const first = await startTestApp({ DEMO_DELTA_INTERVAL_MS: '0' });
    const db = await mongoose.createConnection(first.env.MONGODB_URI).asPromise();
    const [id, rolledOut, marked, newer] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    try {
      const client = await ChatClient.connect(first.baseUrl, await signToken(first.env.JWT_SECRET, { sub: 'old' }));
      const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
      await client.ok('message:send', { sessionId, clientMessageId: randomUUID(), content: 'Legacy billing question' });
      await client.ok('session:end', { sessionId });
      client.close();
      const stored = (await db.collection('chat_sessions').findOne({ _id: sessionId as never })) as Record<
        string,
        unknown
      >;
      // As the previous version stored it: no total, no duration while active, no name index.
      const legacy = (_id: string) => ({
        ...stored,
        _id: _id as never,
        activeKey: `ended:${_id}`,
        startedAt: new Date('2026-05-01T10:00:00Z'),
        endedAt: new Date('2026-05-01T10:02:00Z'),
        tokens: { prompt: 70, completion: 30 },
      });
      // More sessions than a boot batch that a later version marked during a rollback, ahead of the rest in
      // both insertion and _id order: the upgrade reads on past them.
      const laterOnes = Array.from({ length: 500 }, (_, i) => ({
        ...legacy(`!later-${String(i).padStart(3, '0')}`),
        totalTokens: 7,
        fieldsVersion: SESSION_FIELDS_VERSION + 1,
      }));
      await db.collection('chat_sessions').insertMany(laterOnes);
      await db.collection('chat_sessions').insertMany([legacy(id), legacy(rolledOut), legacy(marked), legacy(newer)]);
      await db
        .collection('chat_sessions')
        .updateOne(
          { _id: id as never },
          { $unset: { totalTokens: '', durationMs: '', nameIndex: '', fieldsVersion: '' } },
        );
      // As a replica of the previous version created it during a rollout, and a newer one then counted one
      // reply into it: a total started from 0.
      await db
        .collection('chat_sessions')
        .updateOne(
          { _id: rolledOut as never },
          { $set: { totalTokens: 30 }, $unset: { durationMs: '', nameIndex: '', fieldsVersion: '' } },
        );
      // As an earlier upgrade marked it, before the fields this version keeps (totals, like the rest, recomputed).
      await db
        .collection('chat_sessions')
        .updateOne(
          { _id: marked as never },
          { $set: { totalTokens: 30, fieldsVersion: SESSION_FIELDS_VERSION - 1 }, $unset: { durationMs: '' } },
        );
      // As a replica of a later version marked it during a rollback: its figures are that version's to keep.
      await db
        .collection('chat_sessions')
        .updateOne({ _id: newer as never }, { $set: { totalTokens: 7, fieldsVersion: SESSION_FIELDS_VERSION + 1 } });
    } finally {
      await first.close();
    }

    const second = await startTestApp({
      DEMO_DELTA_INTERVAL_MS: '0',
      MONGODB_URI: first.env.MONGODB_URI,
      JWT_SECRET: first.env.JWT_SECRET,
      ENCRYPTION_KEY: first.env.ENCRYPTION_KEY,
    });
    try {
      const token = await signToken(second.env.JWT_SECRET, { sub: 'ann', roles: ['admin'] });
      const res = await fetch(`${second.baseUrl}/chatbox/admin/sessions?q=legacy&sort=totalTokens&order=desc`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await res.json()) as Page;
      for (const upgraded of [id, rolledOut, marked]) {
        expect(body.sessions.find((row) => row.id === upgraded)).toMatchObject({
          totalTokens: 100,
          durationMs: 120_000,
        });
      }
      expect(await db.collection('chat_sessions').findOne({ _id: newer as never })).toMatchObject({
        totalTokens: 7,
        fieldsVersion: SESSION_FIELDS_VERSION + 1,
      });
    } finally {
      await db.close();
      await second.close();
    }
  });
});

describe('the boot upgrade of sort fields', () => {
  it('reads no session through its index once every session is upgraded', async () => {
    expect(declaresIndex(SessionSchema, { fieldsVersion: 1 })).toBe(true);
    const t = await startTestApp({ DEMO_DELTA_INTERVAL_MS: '0' });
    try {
      const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: 'now' }));
      await client.ok('session:start', {});
      client.close();
      const sessions = t.app.get<Model<SessionDoc>>(getModelToken(SessionDoc.name));
      expect(await sessions.countDocuments()).toBeGreaterThan(0);

      const explained = readExplain(await sessions.find(outdatedSortFields()).limit(500).explain('executionStats'));

      if (explained.server === 'mongodb') {
        expect(explained.docsExamined).toBe(0);
        expect(explained.stages.map((s) => s.stage)).not.toContain('COLLSCAN');
        expect(explained.stages.map((s) => s.keyPattern)).toContainEqual({ fieldsVersion: 1 });
      } else {
        // FerretDB hands the filter to its backend, which returns it nothing.
        expect(explained.filterPushdown).toBe(true);
        expect(explained.backendPlan).toContain("'fieldsVersion'::text");
      }
      expect(await sessions.countDocuments(outdatedSortFields())).toBe(0);
    } finally {
      await t.close();
    }
  });
});

describe('obsolete session indexes', () => {
  const obsolete = {
    'startedAt_-1': { startedAt: -1 },
    'lease.expiresAt_1': { 'lease.expiresAt': 1 },
    'status_1_helpOpen_-1_lastActivityAt_-1': { status: 1, helpOpen: -1, lastActivityAt: -1 },
  } as const;
  const names = async (db: Connection) => (await db.collection('chat_sessions').indexes()).map((i) => String(i.name));

  it('are dropped at boot when an earlier version left them, and a boot that finds none is no error', async () => {
    const env = testEnv();
    const db = await mongoose.createConnection(env.MONGODB_URI).asPromise();
    try {
      for (const [name, key] of Object.entries(obsolete))
        await db.collection('chat_sessions').createIndex(key, { name });
      expect(await names(db)).toEqual(expect.arrayContaining(Object.keys(obsolete)));

      for (let boot = 0; boot < 2; boot++) {
        const t = await startTestApp(env);
        // The declared indexes are built in the background; this waits for them.
        await t.app.get<Model<SessionDoc>>(getModelToken(SessionDoc.name)).init();
        await t.close();
        const left = await names(db);
        expect(left.filter((name) => name in obsolete)).toEqual([]);
        expect(left).toEqual(
          expect.arrayContaining(['startedAt_1__id_1', 'status_1_helpOpen_-1_lastActivityAt_-1__id_1']),
        );
      }
    } finally {
      await db.dropDatabase();
      await db.close();
    }
  });
});

describe('the admin rate limit', () => {
  it('refuses an administrator past their budget per minute (429 with Retry-After), whatever address they claim', async () => {
    const t = await startTestApp({ ADMIN_RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const auth = async (sub: string) => ({
        authorization: `Bearer ${await signToken(t.env.JWT_SECRET, { sub, roles: ['admin'] })}`,
      });
      const ann = await auth('ann');
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${t.baseUrl}/chatbox/admin/sessions`, {
          headers: { ...ann, 'x-forwarded-for': `203.0.113.${i}` },
        });
        statuses.push(res.status);
        if (res.status === 429) {
          expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
          expect(((await res.json()) as { code: string }).code).toBe('rate_limited');
        }
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect((await fetch(`${t.baseUrl}/chatbox/admin/audit`, { headers: ann })).status).toBe(429);
      expect((await fetch(`${t.baseUrl}/chatbox/admin/sessions`, { headers: await auth('bob') })).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
