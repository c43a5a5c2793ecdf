import { BucketGrid, UsageTally } from '../usage-figures';
import type { MetricsResult } from '../usage.service';
import { toMetricsResponse, toUserUsageResponse } from './usage.response.dto';

const range = { from: new Date('2026-11-30T00:00:00Z'), to: new Date('2026-11-30T03:00:00Z') };
const catalog = new Map([
  ['tenths', { pricePer1kPromptTokens: 0.1, pricePer1kCompletionTokens: 0.2 }],
  ['cheap', { pricePer1kPromptTokens: 0.0004, pricePer1kCompletionTokens: 0 }],
]);

/** One reply per hour of the range, of the given model and tokens, counted in the totals and its hour. */
function metricsOf(modelId: string, promptTokens: number, completionTokens: number): MetricsResult {
  const grid = new BucketGrid(range, 'hour');
  const totals = new UsageTally();
  const tallies = grid.buckets.map(() => new UsageTally());
  for (const [i, bucket] of grid.buckets.entries()) {
    const message = {
      createdAt: bucket.start,
      sender: 'ai' as const,
      status: 'complete' as const,
      helpRequest: false,
      modelId,
      usage: { promptTokens, completionTokens, estimated: false },
    };
    totals.message(message);
    tallies[i].message(message);
  }
  return {
    range,
    bucket: 'hour',
    totals: totals.figures(catalog),
    buckets: grid.buckets.map((bucket, i) => ({ ...bucket, figures: tallies[i].figures(catalog) })),
  };
}

describe(toMetricsResponse.name, () => {
  const costs = (body: ReturnType<typeof toMetricsResponse>) => ({
    total: [body.totals.tokens.estimatedCost, body.totals.tokens.byModel[0].estimatedCost],
    buckets: body.buckets.map((b) => [b.tokens.estimatedCost, b.tokens.byModel[0].estimatedCost]),
  });

  it('shows every cost to a millionth, without float noise', () => {
    // Each hour: 1k × 0.1 + 1k × 0.2, which sums to 0.30000000000000004 in floating point.
    expect(costs(toMetricsResponse(metricsOf('tenths', 1000, 1000)))).toEqual({
      total: [0.9, 0.9],
      buckets: [
        [0.3, 0.3],
        [0.3, 0.3],
        [0.3, 0.3],
      ],
    });
  });

  it('rounds each cost once from its exact sum, so the buckets add up to the total within half a millionth each', () => {
    // Each hour costs 0.0000004 (1 token at 0.0004 per 1k), the range 0.0000012.
    expect(costs(toMetricsResponse(metricsOf('cheap', 1, 0)))).toEqual({
      total: [0.000001, 0.000001],
      buckets: [
        [0, 0],
        [0, 0],
        [0, 0],
      ],
    });
  });
});

describe(toUserUsageResponse.name, () => {
  it("shows a user's costs to a millionth, without float noise", () => {
    const { totals } = metricsOf('tenths', 1000, 1000);

    const body = toUserUsageResponse({ userId: 'u', range, sessionsStarted: 0, figures: totals });

    expect([body.tokens.estimatedCost, body.tokens.byModel[0].estimatedCost]).toEqual([0.9, 0.9]);
  });
});
