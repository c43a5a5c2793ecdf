import type { TimeRange, UsageMessage } from '../session/session-stats.service';

export const BUCKETS = ['hour', 'day'] as const;
export type BucketUnit = (typeof BUCKETS)[number];
const UNIT_MS: Record<BucketUnit, number> = { hour: 3_600_000, day: 86_400_000 };

/** A model's prices per 1,000 tokens (see ModelConfig). */
export interface ModelPrice {
  pricePer1kPromptTokens: number;
  pricePer1kCompletionTokens: number;
}

/** The models configured now, each with its prices, or null when it has none. */
export type ModelCatalog = ReadonlyMap<string, ModelPrice | null>;

export interface TokenCounts {
  promptTokens: number;
  completionTokens: number;
}

export interface ModelUsage extends TokenCounts {
  /** The model that answered, as stored with the reply; null for replies stored without one. */
  modelId: string | null;
  /** Whether LLM_MODELS configures the model now: false for one removed since (or a reply without a model). */
  configured: boolean;
  replies: number;
  /** The part of the counts Chatbox estimated because the provider reported no usage. */
  estimated: TokenCounts;
  /** At the model's configured prices, unrounded (the response rounds it); null when it has none or is gone. */
  estimatedCost: number | null;
}

export interface SessionFigures {
  started: number;
  ended: number;
  assisted: number;
  assistedShare: number | null;
}

export interface ConcurrencyFigures {
  samples: number;
  average: number | null;
  max: number | null;
}

export interface MessageCounts {
  user: number;
  ai: number;
  admin: number;
  system: number;
}

export interface TokenFigures extends TokenCounts {
  estimated: TokenCounts;
  /** Over the models that have prices, unrounded (the response rounds it); null when none has. */
  estimatedCost: number | null;
  byModel: ModelUsage[];
}

export interface ResponseTimeFigures {
  replies: number;
  averageMs: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
}

export interface TurnFigures {
  complete: number;
  stopped: number;
  interrupted: number;
  failed: number;
}

export interface HelpFigures {
  requests: number;
  pickups: number;
  pickupAverageMs: number | null;
  pickupP95Ms: number | null;
}

/** Every figure of a range or of one bucket of it. */
export interface UsageFigures {
  sessions: SessionFigures;
  concurrency: ConcurrencyFigures;
  messages: MessageCounts;
  tokens: TokenFigures;
  responseTime: ResponseTimeFigures;
  turns: TurnFigures;
  help: HelpFigures;
  takeovers: number;
}

/**
 * The nearest-rank percentile of values sorted ascending: the smallest value with at least p% of the values
 * at or below it (the value at rank ⌈p/100 × n⌉), always one of the values; null for none.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
}

const zero = (): TokenCounts => ({ promptTokens: 0, completionTokens: 0 });

const costOf = (tokens: TokenCounts, price: ModelPrice) =>
  (tokens.promptTokens / 1000) * price.pricePer1kPromptTokens +
  (tokens.completionTokens / 1000) * price.pricePer1kCompletionTokens;

/** Count, sum and largest of a series, without keeping its values. */
class RunningFigures {
  count = 0;
  sum = 0;
  max: number | null = null;

  add(value: number): void {
    this.count++;
    this.sum += value;
    if (this.max === null || value > this.max) this.max = value;
  }

  get average(): number | null {
    return this.count === 0 ? null : this.sum / this.count;
  }
}

const FIRST_CAPACITY = 16;

/**
 * The values of a series kept for exact percentiles: 8 bytes each in a Float64Array that doubles when
 * full, so at most 16 bytes per value, 24 for the moment of a copy into the doubled array (none until the
 * first value).
 */
export class ValueSeries extends RunningFigures {
  private values = new Float64Array(0);

  override add(value: number): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(Math.max(FIRST_CAPACITY, this.values.length * 2));
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.count] = value;
    super.add(value);
  }

  /** The values in ascending order, sorted in place (a view of the series' own storage). */
  sorted(): Float64Array {
    return this.values.subarray(0, this.count).sort();
  }
}

/**
 * A range cut into UTC hours or days: each bucket is one whole hour or day, except the first and the last,
 * which are cut to the range. Every instant of the range falls into exactly one bucket.
 */
export class BucketGrid {
  readonly buckets: { start: Date; end: Date }[] = [];
  private readonly origin: number;
  private readonly unitMs: number;

  constructor(range: TimeRange, unit: BucketUnit) {
    this.unitMs = UNIT_MS[unit];
    this.origin = Math.floor(range.from.getTime() / this.unitMs) * this.unitMs;
    for (let start = this.origin; start < range.to.getTime(); start += this.unitMs) {
      this.buckets.push({
        start: new Date(Math.max(start, range.from.getTime())),
        end: new Date(Math.min(start + this.unitMs, range.to.getTime())),
      });
    }
  }

  /** The bucket of an instant of the range. */
  indexOf(at: Date): number {
    return Math.floor((at.getTime() - this.origin) / this.unitMs);
  }
}

/**
 * Counts what happened in a range (or a bucket), then reports its figures. Everything is a running count
 * except the first-delta times and pickup waits the percentiles need: 8 to 16 bytes each (ValueSeries).
 */
export class UsageTally {
  private started = 0;
  private ended = 0;
  private assisted = 0;
  private readonly samples = new RunningFigures();
  private readonly messages = { user: 0, ai: 0, admin: 0, system: 0 };
  private readonly models = new Map<string | null, Omit<ModelUsage, 'configured' | 'estimatedCost'>>();
  private readonly firstDeltas = new ValueSeries();
  private readonly turns = { complete: 0, stopped: 0, interrupted: 0, failed: 0 };
  private helpRequests = 0;
  private readonly pickups = new ValueSeries();
  private takeovers = 0;

  sessionStarted(assisted: boolean): void {
    this.started++;
    if (assisted) this.assisted++;
  }

  sessionEnded(): void {
    this.ended++;
  }

  sample(active: number): void {
    this.samples.add(active);
  }

  message(m: UsageMessage): void {
    this.messages[m.sender]++;
    if (m.helpRequest) this.helpRequests++;
    if (m.sender !== 'ai') return;
    this.turns[m.status]++;
    if (m.firstDeltaMs !== undefined) this.firstDeltas.add(m.firstDeltaMs);
    const modelId = m.modelId ?? null;
    let model = this.models.get(modelId);
    if (!model) {
      model = { modelId, replies: 0, promptTokens: 0, completionTokens: 0, estimated: zero() };
      this.models.set(modelId, model);
    }
    model.replies++;
    if (!m.usage) return;
    model.promptTokens += m.usage.promptTokens;
    model.completionTokens += m.usage.completionTokens;
    if (m.usage.estimated) {
      model.estimated.promptTokens += m.usage.promptTokens;
      model.estimated.completionTokens += m.usage.completionTokens;
    }
  }

  takeover(t: { at: Date; helpRequestedAt?: Date }): void {
    this.takeovers++;
    if (t.helpRequestedAt) this.pickups.add(t.at.getTime() - t.helpRequestedAt.getTime());
  }

  figures(catalog: ModelCatalog): UsageFigures {
    const models = [...this.models.values()].sort((a, b) => (a.modelId ?? '').localeCompare(b.modelId ?? ''));
    const costs = models.map((m) => {
      const price = m.modelId === null ? undefined : catalog.get(m.modelId);
      return price ? costOf(m, price) : null;
    });
    const priced = costs.filter((cost) => cost !== null);
    const byModel: ModelUsage[] = models.map((m, i) => {
      const cost = costs[i];
      return {
        modelId: m.modelId,
        configured: m.modelId !== null && catalog.has(m.modelId),
        replies: m.replies,
        promptTokens: m.promptTokens,
        completionTokens: m.completionTokens,
        estimated: { ...m.estimated },
        estimatedCost: cost,
      };
    });
    const sum = (pick: (m: ModelUsage) => number) => byModel.reduce((total, m) => total + pick(m), 0);
    const deltas = this.firstDeltas.sorted();
    const pickups = this.pickups.sorted();
    return {
      sessions: {
        started: this.started,
        ended: this.ended,
        assisted: this.assisted,
        assistedShare: this.started === 0 ? null : this.assisted / this.started,
      },
      concurrency: { samples: this.samples.count, average: this.samples.average, max: this.samples.max },
      messages: { ...this.messages },
      tokens: {
        promptTokens: sum((m) => m.promptTokens),
        completionTokens: sum((m) => m.completionTokens),
        estimated: {
          promptTokens: sum((m) => m.estimated.promptTokens),
          completionTokens: sum((m) => m.estimated.completionTokens),
        },
        estimatedCost: priced.length === 0 ? null : priced.reduce((total, cost) => total + cost, 0),
        byModel,
      },
      responseTime: {
        replies: this.firstDeltas.count,
        averageMs: this.firstDeltas.average,
        p50Ms: percentile(deltas, 50),
        p95Ms: percentile(deltas, 95),
        maxMs: this.firstDeltas.max,
      },
      turns: { ...this.turns },
      help: {
        requests: this.helpRequests,
        pickups: this.pickups.count,
        pickupAverageMs: this.pickups.average,
        pickupP95Ms: percentile(pickups, 95),
      },
      takeovers: this.takeovers,
    };
  }
}
