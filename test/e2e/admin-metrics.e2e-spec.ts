import { randomUUID } from 'node:crypto';
import mongoose, { Connection } from 'mongoose';
import { HeavyReadLimiter } from '../../src/usage/heavy-read-limiter.service';
import { AdminClient } from '../utils/admin-client';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp, testMongoUri } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

/** 2025-03-10 at hh:mm:ss.mmm UTC: the seeded range is its first three hours. */
const t = (time: string) => new Date(`2025-03-10T${time}Z`);
const DAY_BEFORE = (time: string) => new Date(`2025-03-09T${time}Z`);

const MODELS = JSON.stringify([
  { id: 'free', provider: 'demo' },
  {
    id: 'priced',
    provider: 'openai',
    model: 'gpt-test',
    apiKey: 'sk-test',
    baseUrl: 'http://127.0.0.1:9/v1',
    pricePer1kPromptTokens: 0.5,
    pricePer1kCompletionTokens: 1.5,
  },
]);

const adminToken = (app: TestApp) =>
  signToken(app.env.JWT_SECRET, { sub: `a-${randomUUID()}`, name: 'Ann', roles: ['admin'] });

const session = (id: string, userId: string, startedAt: Date, endedAt: Date, assisted: boolean) => ({
  _id: id,
  userId,
  status: 'ended',
  activeKey: `ended:${id}`,
  modelId: 'free',
  owner: 'ai',
  epoch: 0,
  startedAt,
  lastActivityAt: endedAt,
  lastSeenAt: endedAt,
  endedAt,
  durationMs: endedAt.getTime() - startedAt.getTime(),
  messageCount: 0,
  lastSeq: 0,
  assisted,
});

describe('GET /admin/metrics and GET /admin/users/:userId/usage', () => {
  let app: TestApp;
  let db: Connection;
  let auth: Record<string, string>;
  const userA = 'u-metrics-a';
  const [s1, s2, s3, s4, s5, s6] = Array.from({ length: 6 }, () => randomUUID());

  beforeAll(async () => {
    app = await startTestApp({ LLM_MODELS: MODELS });
    db = await mongoose.createConnection(app.env.MONGODB_URI).asPromise();
    auth = { authorization: `Bearer ${await adminToken(app)}` };

    // Sessions (user A holds s1, s3 and s4). Started in range: s1, s2, s3, s5 (s2 and s3 assisted);
    // ended in range: s4, s1 (hour 0), s2 on the 01:00 boundary (hour 1), s3 (hour 2); s5 ends at `to`, excluded.
    await db
      .collection('chat_sessions')
      .insertMany([
        session(s1, userA, t('00:10:00'), t('00:50:00'), false),
        session(s2, `u-${randomUUID()}`, t('00:59:59.999'), t('01:00:00'), true),
        session(s3, userA, t('01:30:00'), t('02:30:00'), true),
        session(s4, userA, DAY_BEFORE('23:00:00'), t('00:20:00'), false),
        session(s5, `u-${randomUUID()}`, t('02:45:00'), t('03:00:00'), false),
        session(s6, `u-${randomUUID()}`, t('03:00:00'), t('03:30:00'), false),
      ] as never[]);

    let seq = 0;
    const message = (sessionId: string, sender: string, createdAt: Date, extra: Record<string, unknown> = {}) => ({
      _id: randomUUID(),
      sessionId,
      seq: ++seq,
      clientKey: `s:${randomUUID()}`,
      sender,
      content: 'not read',
      status: 'complete',
      createdAt,
      ...extra,
    });
    const reply = (
      sessionId: string,
      createdAt: Date,
      model: string,
      [promptTokens, completionTokens, estimated]: [number, number, boolean],
      firstDeltaMs: number | undefined,
      status = 'complete',
    ) =>
      message(sessionId, 'ai', createdAt, {
        model,
        status,
        usage: { promptTokens, completionTokens, estimated },
        latency: firstDeltaMs === undefined ? { totalMs: 50 } : { firstDeltaMs, totalMs: firstDeltaMs + 500 },
      });
    await db.collection('messages').insertMany([
      // Hour 0
      message(s1, 'user', t('00:10:05')),
      reply(s1, t('00:10:06'), 'priced', [1000, 200, false], 100),
      reply(s4, t('00:15:00'), 'free', [10, 5, false], 100),
      message(s2, 'system', t('00:20:00'), { clientKey: 's:help:1' }),
      reply(s2, t('00:30:00'), 'free', [100, 50, true], 400, 'stopped'),
      message(s2, 'system', t('00:40:00'), { clientKey: 's:help-cancel:1' }),
      // Hour 1, the first on its boundary
      message(s2, 'admin', t('01:00:00')),
      reply(s3, t('01:31:00'), 'priced', [2000, 400, false], 200),
      reply(s3, t('01:32:00'), 'retired', [500, 100, false], 1000, 'interrupted'),
      message(s3, 'user', t('01:33:00')),
      // Hour 2
      reply(s3, t('02:10:00'), 'priced', [300, 100, true], undefined, 'failed'),
      message(s3, 'system', t('02:15:00'), { clientKey: 's:help:2' }),
      reply(s5, t('02:50:00'), 'priced', [1000, 1000, false], 300),
      // Outside the range
      message(s1, 'user', DAY_BEFORE('23:59:59.999')),
      reply(s5, t('03:00:00'), 'priced', [9999, 9999, false], 9999),
    ] as never[]);

    const change = (sessionId: string, epoch: number, cause: string, at: Date, helpRequestedAt?: Date) => ({
      _id: `${sessionId}:${epoch}`,
      sessionId,
      epoch,
      owner: cause === 'takeover' ? 'admin:ann' : 'ai',
      previousOwner: cause === 'takeover' ? 'ai' : 'admin:ann',
      cause,
      actor: 'admin:ann',
      at,
      ...(helpRequestedAt ? { helpRequestedAt } : {}),
    });
    await db
      .collection('owner_changes')
      .insertMany([
        change(s2, 1, 'takeover', t('00:25:00'), t('00:20:00')),
        change(s2, 2, 'admin_left', t('00:35:00')),
        change(s3, 1, 'takeover', t('01:45:00')),
        change(s3, 2, 'released', t('02:00:00')),
        change(s3, 3, 'takeover', t('02:17:00'), t('02:15:00')),
        change(s5, 1, 'takeover', t('03:00:00'), t('02:50:00')),
        change(s4, 1, 'takeover', DAY_BEFORE('23:59:00'), DAY_BEFORE('23:00:00')),
      ] as never[]);

    const sample = (at: Date, active: number) => ({ _id: at.toISOString(), at, active, replica: 'seeded' });
    await db
      .collection('concurrency_samples')
      .insertMany([
        sample(t('00:00:00'), 2),
        sample(t('00:30:00'), 4),
        sample(t('01:00:00'), 3),
        sample(t('01:30:00'), 5),
        sample(t('02:30:00'), 1),
        sample(t('03:00:00'), 100),
        sample(DAY_BEFORE('23:59:00'), 100),
      ] as never[]);
  });
  afterAll(async () => {
    await db.close();
    await app.close();
  });

  const get = (path: string, headers = auth) => fetch(`${app.baseUrl}/chatbox/admin${path}`, { headers });
  const ok = async <T>(path: string) => {
    const res = await get(path);
    const body = (await res.json()) as T;
    // The body is shown when the status is not the one expected.
    expect([res.status, res.status === 200 ? null : body]).toEqual([200, null]);
    return body;
  };
  const RANGE = 'from=2025-03-10T00:00:00Z&to=2025-03-10T03:00:00Z';

  // Every figure below is worked out by hand from the seed above.
  const tokens = (models: [string, number, number, number, number, number, number | null][], cost: number | null) => ({
    promptTokens: models.reduce((sum, m) => sum + m[2], 0),
    completionTokens: models.reduce((sum, m) => sum + m[3], 0),
    estimated: {
      promptTokens: models.reduce((sum, m) => sum + m[4], 0),
      completionTokens: models.reduce((sum, m) => sum + m[5], 0),
    },
    estimatedCost: cost,
    byModel: models.map(([modelId, replies, promptTokens, completionTokens, estPrompt, estCompletion, cost]) => ({
      modelId,
      // LLM_MODELS above configures these two; 'retired' answered before it was removed.
      configured: ['free', 'priced'].includes(modelId),
      replies,
      promptTokens,
      completionTokens,
      estimated: { promptTokens: estPrompt, completionTokens: estCompletion },
      estimatedCost: cost,
    })),
  });

  const TOTALS = {
    sessions: { started: 4, ended: 4, assisted: 2, assistedShare: 0.5 },
    concurrency: { samples: 5, average: 3, max: 5 },
    messages: { user: 2, ai: 7, admin: 1, system: 3 },
    // priced: 4.3k prompt × 0.5 + 1.7k completion × 1.5 = 2.15 + 2.55
    tokens: tokens(
      [
        ['free', 2, 110, 55, 100, 50, null],
        ['priced', 4, 4300, 1700, 300, 100, 4.7],
        ['retired', 1, 500, 100, 0, 0, null],
      ],
      4.7,
    ),
    // First deltas 100, 100, 200, 300, 400, 1000: p50 is the 3rd, p95 the 6th (⌈5.7⌉).
    responseTime: { replies: 6, averageMs: 350, p50Ms: 200, p95Ms: 1000, maxMs: 1000 },
    turns: { complete: 4, stopped: 1, interrupted: 1, failed: 1 },
    // Waits of 5 and 2 minutes.
    help: { requests: 2, pickups: 2, pickupAverageMs: 210000, pickupP95Ms: 300000 },
    takeovers: 3,
  };
  const HOURS = [
    {
      start: '2025-03-10T00:00:00.000Z',
      end: '2025-03-10T01:00:00.000Z',
      sessions: { started: 2, ended: 2, assisted: 1, assistedShare: 0.5 },
      concurrency: { samples: 2, average: 3, max: 4 },
      messages: { user: 1, ai: 3, admin: 0, system: 2 },
      tokens: tokens(
        [
          ['free', 2, 110, 55, 100, 50, null],
          ['priced', 1, 1000, 200, 0, 0, 0.8],
        ],
        0.8,
      ),
      responseTime: { replies: 3, averageMs: 200, p50Ms: 100, p95Ms: 400, maxMs: 400 },
      turns: { complete: 2, stopped: 1, interrupted: 0, failed: 0 },
      help: { requests: 1, pickups: 1, pickupAverageMs: 300000, pickupP95Ms: 300000 },
      takeovers: 1,
    },
    {
      start: '2025-03-10T01:00:00.000Z',
      end: '2025-03-10T02:00:00.000Z',
      sessions: { started: 1, ended: 1, assisted: 1, assistedShare: 1 },
      concurrency: { samples: 2, average: 4, max: 5 },
      messages: { user: 1, ai: 2, admin: 1, system: 0 },
      tokens: tokens(
        [
          ['priced', 1, 2000, 400, 0, 0, 1.6],
          ['retired', 1, 500, 100, 0, 0, null],
        ],
        1.6,
      ),
      responseTime: { replies: 2, averageMs: 600, p50Ms: 200, p95Ms: 1000, maxMs: 1000 },
      turns: { complete: 1, stopped: 0, interrupted: 1, failed: 0 },
      help: { requests: 0, pickups: 0, pickupAverageMs: null, pickupP95Ms: null },
      takeovers: 1,
    },
    {
      start: '2025-03-10T02:00:00.000Z',
      end: '2025-03-10T03:00:00.000Z',
      sessions: { started: 1, ended: 1, assisted: 0, assistedShare: 0 },
      concurrency: { samples: 1, average: 1, max: 1 },
      messages: { user: 0, ai: 2, admin: 0, system: 1 },
      // 1.3k × 0.5 + 1.1k × 1.5
      tokens: tokens([['priced', 2, 1300, 1100, 300, 100, 2.3]], 2.3),
      responseTime: { replies: 1, averageMs: 300, p50Ms: 300, p95Ms: 300, maxMs: 300 },
      turns: { complete: 1, stopped: 0, interrupted: 0, failed: 1 },
      help: { requests: 1, pickups: 1, pickupAverageMs: 120000, pickupP95Ms: 120000 },
      takeovers: 1,
    },
  ];

  it('gives every figure of a range, and of each hour of it, as worked out by hand', async () => {
    const body = await ok(`/metrics?${RANGE}&bucket=hour`);

    expect(body).toEqual({
      from: '2025-03-10T00:00:00.000Z',
      to: '2025-03-10T03:00:00.000Z',
      bucket: 'hour',
      totals: TOTALS,
      buckets: HOURS,
    });
  });

  it('reads the range in the zone given, and buckets by UTC day', async () => {
    const body = await ok(
      `/metrics?from=${encodeURIComponent('2025-03-10T01:00:00+01:00')}&to=${encodeURIComponent('2025-03-09T22:00:00-05:00')}&bucket=day`,
    );

    expect(body).toEqual({
      from: '2025-03-10T00:00:00.000Z',
      to: '2025-03-10T03:00:00.000Z',
      bucket: 'day',
      totals: TOTALS,
      buckets: [{ start: '2025-03-10T00:00:00.000Z', end: '2025-03-10T03:00:00.000Z', ...TOTALS }],
    });
  });

  it("gives a user's sessions started, messages and tokens by model in the range", async () => {
    const body = await ok(`/users/${userA}/usage?${RANGE}`);

    // s1 and s3 started in the range (s4 the day before, though its reply in the range counts).
    expect(body).toEqual({
      userId: userA,
      from: '2025-03-10T00:00:00.000Z',
      to: '2025-03-10T03:00:00.000Z',
      sessions: { started: 2 },
      messages: { user: 2, ai: 5, admin: 0, system: 1 },
      // priced: 3.3k × 0.5 + 0.7k × 1.5 = 1.65 + 1.05
      tokens: tokens(
        [
          ['free', 1, 10, 5, 0, 0, null],
          ['priced', 3, 3300, 700, 300, 100, 2.7],
          ['retired', 1, 500, 100, 0, 0, null],
        ],
        2.7,
      ),
    });
  });

  it("reads and counts only a user's sessions that overlap the range, and only their messages in it", async () => {
    const userB = `u-${randomUUID()}`;
    const day = (iso: string) => new Date(`2025-04-${iso}Z`);
    const [before, across, inside, spanning, after] = Array.from({ length: 5 }, () => randomUUID());
    const userSession = (id: string, startedAt: Date, lastActivityAt: Date) => ({
      ...session(id, userB, startedAt, lastActivityAt, false),
      lastActivityAt,
    });
    await db
      .collection('chat_sessions')
      .insertMany([
        userSession(before, day('01T00:00:00'), day('01T01:00:00')),
        userSession(across, day('01T23:00:00'), day('02T00:20:00')),
        userSession(inside, day('02T00:00:00'), day('02T02:00:00')),
        userSession(spanning, day('02T01:00:00'), day('03T05:00:00')),
        userSession(after, day('03T00:00:00'), day('03T01:00:00')),
      ] as never[]);
    let seq = 0;
    const message = (sessionId: string, sender: string, createdAt: Date, tokens?: number) => ({
      _id: randomUUID(),
      sessionId,
      seq: ++seq,
      clientKey: `s:${randomUUID()}`,
      sender,
      content: 'not read',
      status: 'complete',
      createdAt,
      ...(tokens === undefined
        ? {}
        : { model: 'priced', usage: { promptTokens: tokens, completionTokens: 0, estimated: false } }),
    });
    await db.collection('messages').insertMany([
      message(before, 'user', day('01T00:30:00')),
      message(across, 'user', day('01T23:30:00')),
      message(across, 'ai', day('02T00:15:00'), 1000),
      message(inside, 'user', day('02T00:10:00')),
      message(inside, 'ai', day('02T00:11:00'), 2000),
      message(spanning, 'ai', day('02T01:05:00'), 4000),
      message(spanning, 'ai', day('03T05:00:00'), 8000),
      message(after, 'ai', day('03T00:30:00'), 16000),
      // Messages no real session holds (after its last activity, before its start): they are counted only
      // if their session is read, which would show the read reaching sessions outside the range.
      message(before, 'ai', day('02T12:00:00'), 32000),
      message(after, 'ai', day('02T23:00:00'), 64000),
    ] as never[]);

    const body = await ok(`/users/${userB}/usage?from=2025-04-02T00:00:00Z&to=2025-04-03T00:00:00Z`);

    // inside and spanning started in the range; across, inside and spanning have messages in it.
    expect(body).toMatchObject({
      sessions: { started: 2 },
      messages: { user: 1, ai: 3, admin: 0, system: 0 },
      // 7k prompt × 0.5
      tokens: tokens([['priced', 3, 7000, 0, 0, 0, 3.5]], 3.5),
    });
  });

  it('takes a range of ADMIN_METRICS_MAX_RANGE_DAYS (92) and refuses one a millisecond longer', async () => {
    const longest = 'from=2025-03-10T00:00:00Z&to=2025-06-10T00:00:00Z';
    const longer = 'from=2025-03-10T00:00:00Z&to=2025-06-10T00:00:00.001Z';

    expect((await get(`/metrics?${longest}`)).status).toBe(200);
    for (const path of [`/metrics?${longer}`, `/users/${userA}/usage?${longer}`]) {
      const res = await get(path);
      const body = (await res.json()) as { code: string; message: string };
      expect([res.status, body.code]).toEqual([400, 'invalid_payload']);
      expect(body.message).toBe('to must be at most 92 days after from (ADMIN_METRICS_MAX_RANGE_DAYS)');
    }
  });

  it.each([
    ['/metrics?from=2025-03-10T00:00:00Z', 'to'],
    ['/metrics?from=yesterday&to=2025-03-10T00:00:00Z', 'from'],
    ['/metrics?from=2025-02-29T00:00:00Z&to=2025-03-10T00:00:00Z', 'from'],
    ['/metrics?from=2025-03-10T00:00:00&to=2025-03-11T00:00:00Z', 'from'],
    ['/metrics?from=2025-03-10T00:00:00Z&to=2025-03-10T00:00:00Z', 'from'],
    [`/metrics?${RANGE}&bucket=week`, 'bucket'],
    [`/metrics?${RANGE}&granularity=hour`, 'granularity'],
    [`/metrics?${RANGE}&from=2025-03-10T01:00:00Z`, 'from'],
    [`/users/${userA}/usage?${RANGE}&bucket=hour`, 'bucket'],
    [`/users/${userA}/usage?from=2025-03-10T00:00:00Z&to=2025-13-01T00:00:00Z`, 'to'],
    [`/users/%20/usage?${RANGE}`, 'userId'],
  ])('answers %s with 400 invalid_payload naming %s', async (path, name) => {
    const res = await get(path);
    const body = (await res.json()) as { code: string; message: string };

    expect([res.status, body.code]).toEqual([400, 'invalid_payload']);
    expect(body.message).toContain(name);
  });

  it.each([
    [
      'chat_sessions',
      'startedAt',
      { startedAt: { $gte: t('00:00:00'), $lt: t('03:00:00') } },
      ['{"startedAt":1,"_id":1}'],
    ],
    ['chat_sessions', 'endedAt', { endedAt: { $gte: t('00:00:00'), $lt: t('03:00:00') } }, ['{"endedAt":1}']],
    ['messages', 'createdAt', { createdAt: { $gte: t('00:00:00'), $lt: t('03:00:00') } }, ['{"createdAt":1}']],
    [
      'chat_sessions',
      'userId and lastActivityAt',
      { userId: userA, lastActivityAt: { $gte: t('00:00:00') }, startedAt: { $lt: t('03:00:00') } },
      ['{"userId":1,"lastActivityAt":-1,"_id":-1}'],
    ],
    [
      'messages',
      'sessionId and createdAt',
      { sessionId: { $in: [s1, s3] }, createdAt: { $gte: t('00:00:00'), $lt: t('03:00:00') } },
      ['{"sessionId":1,"createdAt":1}'],
    ],
    [
      'owner_changes',
      'cause and at',
      { cause: 'takeover', at: { $gte: t('00:00:00'), $lt: t('03:00:00') } },
      ['{"cause":1,"at":1}'],
    ],
    ['concurrency_samples', 'at', { at: { $gte: t('00:00:00'), $lt: t('03:00:00') } }, ['{"at":1}']],
  ])('reads %s by %s through an index', async (collection, _fields, filter, indexes) => {
    const keys = (await db.collection(collection).listIndexes().toArray()).map((i) =>
      JSON.stringify((i as { key: unknown }).key),
    );
    const explained = (await db.collection(collection).find(filter).explain()) as {
      serverInfo?: { ferretdbVersion?: string };
      queryPlanner: { winningPlan?: unknown };
    };
    const stages = (plan: unknown): string[] => {
      const node = (plan ?? {}) as { stage?: string; inputStage?: unknown; inputStages?: unknown[] };
      return [
        ...(node.stage ? [node.stage] : []),
        ...stages(node.inputStage),
        ...(node.inputStages ?? []).flatMap(stages),
      ];
    };

    expect(keys).toEqual(expect.arrayContaining(indexes));
    // FerretDB v1 pushes no range down to its backend and reads the collection (see the README); MongoDB must not.
    if (!explained.serverInfo?.ferretdbVersion) {
      expect(stages(explained.queryPlanner.winningPlan)).toContain('IXSCAN');
      expect(stages(explained.queryPlanner.winningPlan)).not.toContain('COLLSCAN');
    }
  });

  it('counts a real help request and its pickup by an administrator, with the wait the takeover recorded', async () => {
    const from = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString();
    let sessionId: string | undefined;
    const user = await ChatClient.connect(
      app.baseUrl,
      await signToken(app.env.JWT_SECRET, { sub: `u-${randomUUID()}` }),
    );
    const admin = new AdminClient(app.baseUrl, await adminToken(app));
    try {
      await admin.connected();
      ({ sessionId } = await user.ok<{ sessionId: string }>('session:start', { modelId: 'free' }));
      await user.ok('help:request', { sessionId, reason: 'a person, please' });
      await admin.ok('admin:join', { sessionId });
    } finally {
      user.close();
      admin.close();
    }
    const to = new Date(Date.now() + 60_000).toISOString();
    const change = await db
      .collection<{ _id: string; sessionId: string; cause: string; at: Date; helpRequestedAt: Date }>('owner_changes')
      .findOne({ sessionId, cause: 'takeover' });
    if (!change) throw new Error('the takeover was not recorded');
    const waited = change.at.getTime() - change.helpRequestedAt.getTime();
    expect(waited).toBeGreaterThanOrEqual(0);

    const res = await get(`/metrics?from=${from}&to=${to}&bucket=day`);

    expect(res.status).toBe(200);
    const { totals } = (await res.json()) as { totals: { help: unknown; takeovers: number } };
    expect(totals).toMatchObject({
      help: { requests: 1, pickups: 1, pickupAverageMs: waited, pickupP95Ms: waited },
      takeovers: 1,
    });
  });

  it('answers 429 too_many_requests with Retry-After: 1 while ADMIN_HEAVY_READS_MAX (2) reads run, and reads again once one ends', async () => {
    const limiter = app.app.get(HeavyReadLimiter);
    const held = [limiter.tryAcquire(), limiter.tryAcquire()];
    try {
      expect(held.every((release) => release !== undefined)).toBe(true);
      for (const path of [`/metrics?${RANGE}`, `/users/${userA}/usage?${RANGE}`]) {
        const res = await get(path);

        expect([res.status, res.headers.get('retry-after'), await res.json()]).toEqual([
          429,
          '1',
          {
            statusCode: 429,
            code: 'too_many_requests',
            message: 'This replica already runs 2 usage reads (ADMIN_HEAVY_READS_MAX); retry in a second',
            details: { retryAfterMs: 1000 },
          },
        ]);
      }
      // The admin guard answers first: a request it refuses is told why, not that the replica is busy.
      expect((await get(`/metrics?${RANGE}`, {})).status).toBe(401);
    } finally {
      for (const release of held) release?.();
    }

    expect((await get(`/metrics?${RANGE}`)).status).toBe(200);
    const doc = (await (await fetch(`${app.baseUrl}/chatbox/openapi.json`)).json()) as {
      paths: Record<string, { get: { responses: Record<string, { description: string }> } }>;
    };
    expect(
      ['/chatbox/admin/metrics', '/chatbox/admin/users/{userId}/usage'].map(
        (route) => doc.paths[route].get.responses['429'].description,
      ),
    ).toEqual(['`rate_limited`, `too_many_requests`', '`rate_limited`, `too_many_requests`']);
  });

  it('refuses a user token with 403 and no token with 401', async () => {
    const user = { authorization: `Bearer ${await signToken(app.env.JWT_SECRET, { sub: userA })}` };

    for (const path of [`/metrics?${RANGE}`, `/users/${userA}/usage?${RANGE}`]) {
      expect([(await get(path, user)).status, (await get(path, {})).status]).toEqual([403, 401]);
    }
  });
});

describe('the concurrency sampler', () => {
  const SLOT_MS = 1000;
  let one: TestApp;
  let two: TestApp;
  let db: Connection;

  const activeSession = () => {
    const id = randomUUID();
    const userId = `u-${randomUUID()}`;
    const now = new Date();
    return {
      _id: id,
      userId,
      status: 'active',
      activeKey: userId,
      modelId: 'demo',
      startedAt: now,
      lastActivityAt: now,
      lastSeenAt: now,
    };
  };
  const samples = () =>
    db.collection<{ _id: string; at: Date; active: number; replica: string }>('concurrency_samples').find().toArray();

  beforeAll(async () => {
    const shared = { MONGODB_URI: testMongoUri(), METRICS_SAMPLE_MS: String(SLOT_MS) };
    one = await startTestApp(shared);
    two = await startTestApp({ ...shared, JWT_SECRET: one.env.JWT_SECRET, ENCRYPTION_KEY: one.env.ENCRYPTION_KEY });
    db = await mongoose.createConnection(shared.MONGODB_URI).asPromise();
  });
  let closed = false;
  afterAll(async () => {
    await db.close();
    if (!closed) await Promise.all([one.close(), two.close()]);
  });

  it('writes one sample per slot across two replicas, each the active sessions counted then', async () => {
    await db.collection('chat_sessions').insertMany([activeSession(), activeSession(), activeSession()] as never[]);
    const seeded = Date.now();
    // Counted after the three were stored, and seen before the next two are: each must say 3.
    const before = await waitFor(
      async () => {
        const after = (await samples()).filter((s) => s.at.getTime() > seeded);
        return after.length >= 3 && after;
      },
      { what: 'three samples of three active sessions' },
    );
    await db.collection('chat_sessions').insertMany([activeSession(), activeSession()] as never[]);
    const changed = Date.now();
    await waitFor(async () => (await samples()).filter((s) => s.at.getTime() > changed).length >= 3, {
      what: 'three samples of five active sessions',
    });
    await Promise.all([one.close(), two.close()]);
    closed = true;

    const all = await samples();
    const perSlot = new Map<number, number>();
    for (const { at } of all) {
      const slot = Math.floor(at.getTime() / SLOT_MS);
      perSlot.set(slot, (perSlot.get(slot) ?? 0) + 1);
    }
    expect([...perSlot.values()].filter((n) => n !== 1)).toEqual([]);
    expect(all.filter((s) => s._id !== new Date(Math.floor(s.at.getTime() / SLOT_MS) * SLOT_MS).toISOString())).toEqual(
      [],
    );
    expect(before.map((s) => s.active)).toEqual(before.map(() => 3));
    const after = all.filter((s) => s.at.getTime() > changed);
    expect(after.map((s) => s.active)).toEqual(after.map(() => 5));
  });
});
