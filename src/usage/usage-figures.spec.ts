import type { UsageMessage } from '../session/session-stats.service';
import { BucketGrid, percentile, UsageTally, ValueSeries } from './usage-figures';

const at = (iso: string) => new Date(iso);
const reply = (fields: Partial<UsageMessage>): UsageMessage => ({
  createdAt: at('2026-11-30T10:00:00Z'),
  sender: 'ai',
  status: 'complete',
  helpRequest: false,
  ...fields,
});

describe(percentile.name, () => {
  const sorted = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];

  it.each([
    [50, 50],
    [95, 100],
    [90, 90],
    [10, 10],
    [11, 20],
    [0, 10],
    [100, 100],
  ])('takes the nearest rank: p%d of 10..100 is %d', (p, value) => {
    expect(percentile(sorted, p)).toBe(value);
  });

  it('takes a lone value for every percentile, and null for none', () => {
    expect([percentile([7], 50), percentile([7], 95)]).toEqual([7, 7]);
    expect(percentile([], 50)).toBeNull();
  });

  it('answers p50 of an even count with the lower middle value, not an average', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
  });
});

describe(ValueSeries.name, () => {
  it('gives exact nearest-rank percentiles, count, average and max of many values, in at most 16 bytes each', () => {
    const sut = new ValueSeries();
    const values = Array.from({ length: 100_003 }, (_, i) => (i * 7919) % 100_003);
    for (const value of values) sut.add(value);
    const reference = [...values].sort((a, b) => a - b);

    const sorted = sut.sorted();

    expect([50, 95, 99].map((p) => percentile(sorted, p))).toEqual([50, 95, 99].map((p) => percentile(reference, p)));
    expect([sut.count, sut.average, sut.max]).toEqual([100_003, 50_001, 100_002]);
    expect(sorted.buffer.byteLength).toBeLessThanOrEqual(16 * sut.count);
  });

  it('holds no storage until its first value', () => {
    const sut = new ValueSeries();

    expect([sut.sorted().buffer.byteLength, sut.count, sut.average, sut.max]).toEqual([0, 0, null, null]);
  });
});

describe(BucketGrid.name, () => {
  it('cuts a range into UTC hours, the first and last cut to the range', () => {
    const sut = new BucketGrid({ from: at('2026-11-30T10:30:00Z'), to: at('2026-11-30T12:15:00Z') }, 'hour');

    expect(sut.buckets.map((b) => [b.start.toISOString(), b.end.toISOString()])).toEqual([
      ['2026-11-30T10:30:00.000Z', '2026-11-30T11:00:00.000Z'],
      ['2026-11-30T11:00:00.000Z', '2026-11-30T12:00:00.000Z'],
      ['2026-11-30T12:00:00.000Z', '2026-11-30T12:15:00.000Z'],
    ]);
  });

  it('puts an instant on a boundary into the bucket it starts', () => {
    const sut = new BucketGrid({ from: at('2026-11-30T10:30:00Z'), to: at('2026-11-30T12:15:00Z') }, 'hour');

    expect(sut.indexOf(at('2026-11-30T10:30:00Z'))).toBe(0);
    expect(sut.indexOf(at('2026-11-30T10:59:59.999Z'))).toBe(0);
    expect(sut.indexOf(at('2026-11-30T11:00:00Z'))).toBe(1);
    expect(sut.indexOf(at('2026-11-30T12:14:59.999Z'))).toBe(2);
  });

  it('cuts days at UTC midnight, whatever zone the range was given in', () => {
    // 22:00 at -05:00 is 03:00 UTC the next day.
    const sut = new BucketGrid({ from: at('2026-11-29T22:00:00-05:00'), to: at('2026-12-01T12:00:00Z') }, 'day');

    expect(sut.buckets.map((b) => [b.start.toISOString(), b.end.toISOString()])).toEqual([
      ['2026-11-30T03:00:00.000Z', '2026-12-01T00:00:00.000Z'],
      ['2026-12-01T00:00:00.000Z', '2026-12-01T12:00:00.000Z'],
    ]);
  });

  it('has one bucket per whole day of a range on day boundaries', () => {
    const sut = new BucketGrid({ from: at('2026-11-01T00:00:00Z'), to: at('2026-11-04T00:00:00Z') }, 'day');

    expect(sut.buckets).toHaveLength(3);
    expect(sut.indexOf(at('2026-11-03T23:59:59.999Z'))).toBe(2);
  });
});

describe(UsageTally.name, () => {
  const prices = new Map([
    ['priced', { pricePer1kPromptTokens: 0.5, pricePer1kCompletionTokens: 1.5 }],
    ['free', null],
  ]);

  it('reports nulls, not zeros, for figures of nothing', () => {
    const figures = new UsageTally().figures(prices);

    expect(figures.sessions.assistedShare).toBeNull();
    expect(figures.concurrency).toEqual({ samples: 0, average: null, max: null });
    expect(figures.responseTime).toEqual({ replies: 0, averageMs: null, p50Ms: null, p95Ms: null, maxMs: null });
    expect(figures.help).toEqual({ requests: 0, pickups: 0, pickupAverageMs: null, pickupP95Ms: null });
    expect(figures.tokens).toEqual({
      promptTokens: 0,
      completionTokens: 0,
      estimated: { promptTokens: 0, completionTokens: 0 },
      estimatedCost: null,
      byModel: [],
    });
  });

  it('costs tokens at their model prices, leaves unpriced and unconfigured models out of the total, and keeps estimates apart', () => {
    const sut = new UsageTally();
    sut.message(reply({ modelId: 'priced', usage: { promptTokens: 1000, completionTokens: 200, estimated: false } }));
    sut.message(reply({ modelId: 'priced', usage: { promptTokens: 300, completionTokens: 100, estimated: true } }));
    sut.message(reply({ modelId: 'free', usage: { promptTokens: 50, completionTokens: 5, estimated: false } }));
    sut.message(reply({ modelId: 'free', status: 'failed' }));
    sut.message(reply({ modelId: 'retired', usage: { promptTokens: 7, completionTokens: 3, estimated: false } }));
    sut.message(reply({ status: 'failed' }));

    const { tokens, turns } = sut.figures(prices);

    // priced: 1.3k prompt × 0.5 + 0.3k completion × 1.5 = 0.65 + 0.45 = 1.1
    expect(tokens.byModel).toEqual([
      {
        modelId: null,
        configured: false,
        replies: 1,
        promptTokens: 0,
        completionTokens: 0,
        estimated: { promptTokens: 0, completionTokens: 0 },
        estimatedCost: null,
      },
      {
        modelId: 'free',
        configured: true,
        replies: 2,
        promptTokens: 50,
        completionTokens: 5,
        estimated: { promptTokens: 0, completionTokens: 0 },
        estimatedCost: null,
      },
      {
        modelId: 'priced',
        configured: true,
        replies: 2,
        promptTokens: 1300,
        completionTokens: 300,
        estimated: { promptTokens: 300, completionTokens: 100 },
        estimatedCost: 1.1,
      },
      {
        modelId: 'retired',
        configured: false,
        replies: 1,
        promptTokens: 7,
        completionTokens: 3,
        estimated: { promptTokens: 0, completionTokens: 0 },
        estimatedCost: null,
      },
    ]);
    expect(tokens).toMatchObject({
      promptTokens: 1357,
      completionTokens: 308,
      estimated: { promptTokens: 300, completionTokens: 100 },
      estimatedCost: 1.1,
    });
    expect(turns).toEqual({ complete: 4, stopped: 0, interrupted: 0, failed: 2 });
  });

  it('keeps costs exact, leaving the rounding to the response', () => {
    const sut = new UsageTally();
    sut.message(reply({ modelId: 'tenths', usage: { promptTokens: 1000, completionTokens: 1000, estimated: false } }));

    const { tokens } = sut.figures(
      new Map([['tenths', { pricePer1kPromptTokens: 0.1, pricePer1kCompletionTokens: 0.2 }]]),
    );

    expect([tokens.estimatedCost, tokens.byModel[0].estimatedCost]).toEqual([0.1 + 0.2, 0.1 + 0.2]);
  });

  it('counts messages by sender, help markers, response times and pickups', () => {
    const sut = new UsageTally();
    for (const firstDeltaMs of [400, 100, 300, 200]) sut.message(reply({ firstDeltaMs }));
    sut.message(reply({ status: 'failed' }));
    sut.message(reply({ sender: 'user', status: 'complete' }));
    sut.message(reply({ sender: 'system', helpRequest: true }));
    sut.message(reply({ sender: 'system' }));
    sut.takeover({ at: at('2026-11-30T10:01:00Z'), helpRequestedAt: at('2026-11-30T10:00:00Z') });
    sut.takeover({ at: at('2026-11-30T10:05:00Z') });
    sut.sample(3);
    sut.sample(6);
    sut.sessionStarted(true);
    sut.sessionStarted(false);
    sut.sessionStarted(false);
    sut.sessionEnded();

    const figures = sut.figures(prices);

    expect(figures.messages).toEqual({ user: 1, ai: 5, admin: 0, system: 2 });
    expect(figures.responseTime).toEqual({ replies: 4, averageMs: 250, p50Ms: 200, p95Ms: 400, maxMs: 400 });
    expect(figures.help).toEqual({ requests: 1, pickups: 1, pickupAverageMs: 60000, pickupP95Ms: 60000 });
    expect(figures.takeovers).toBe(2);
    expect(figures.concurrency).toEqual({ samples: 2, average: 4.5, max: 6 });
    expect(figures.sessions).toEqual({ started: 3, ended: 1, assisted: 1, assistedShare: 1 / 3 });
  });
});
