import { Injectable } from '@nestjs/common';
import { AppError } from '../common/errors/app-error';
import { parseRange } from '../common/validation/date-time';
import { AppConfig } from '../config/app-config';
import { SessionStatsService, TimeRange } from '../session/session-stats.service';
import { ConcurrencySampleRepository } from './concurrency-sample.repository';
import { BucketGrid, BucketUnit, ModelCatalog, UsageFigures, UsageTally } from './usage-figures';

const DAY_MS = 86_400_000;

export interface MetricsResult {
  range: TimeRange;
  bucket: BucketUnit;
  totals: UsageFigures;
  buckets: { start: Date; end: Date; figures: UsageFigures }[];
}

export interface UserUsageResult {
  userId: string;
  range: TimeRange;
  sessionsStarted: number;
  figures: UsageFigures;
}

/**
 * The usage figures of a time range, computed in the application from range-bounded, indexed reads (the
 * same on MongoDB and on FerretDB v1, whose aggregation is limited): each read streams once, and every
 * record lands in the totals and in its bucket. Memory: a fixed set of counters per bucket, plus each AI
 * reply with a first delta and each help pickup in the range held twice (totals and bucket) for the
 * percentiles, 16 to 32 bytes apiece; concurrency samples are only counted, summed and compared.
 */
@Injectable()
export class UsageService {
  private readonly catalog: ModelCatalog;

  constructor(
    private readonly config: AppConfig,
    private readonly stats: SessionStatsService,
    private readonly samples: ConcurrencySampleRepository,
  ) {
    this.catalog = new Map(
      config.llm.models.map(({ id, pricePer1kPromptTokens, pricePer1kCompletionTokens }) => [
        id,
        pricePer1kPromptTokens === undefined || pricePer1kCompletionTokens === undefined
          ? null
          : { pricePer1kPromptTokens, pricePer1kCompletionTokens },
      ]),
    );
  }

  async metrics(query: { from: string; to: string; bucket: BucketUnit }): Promise<MetricsResult> {
    const range = this.range(query.from, query.to);
    const grid = new BucketGrid(range, query.bucket);
    const totals = new UsageTally();
    const tallies = grid.buckets.map(() => new UsageTally());
    const count = async <T>(
      items: AsyncIterable<T>,
      at: (item: T) => Date,
      add: (tally: UsageTally, item: T) => void,
    ) => {
      for await (const item of items) {
        add(totals, item);
        add(tallies[grid.indexOf(at(item))], item);
      }
    };
    await Promise.all([
      count(
        this.stats.sessionsStarted(range),
        (s) => s.startedAt,
        (tally, s) => tally.sessionStarted(s.assisted),
      ),
      count(
        this.stats.sessionsEnded(range),
        (endedAt) => endedAt,
        (tally) => tally.sessionEnded(),
      ),
      count(
        this.samples.between(range),
        (s) => s.at,
        (tally, s) => tally.sample(s.active),
      ),
      count(
        this.stats.messages(range),
        (m) => m.createdAt,
        (tally, m) => tally.message(m),
      ),
      count(
        this.stats.takeovers(range),
        (t) => t.at,
        (tally, t) => tally.takeover(t),
      ),
    ]);
    return {
      range,
      bucket: query.bucket,
      totals: totals.figures(this.catalog),
      buckets: grid.buckets.map((bucket, i) => ({ ...bucket, figures: tallies[i].figures(this.catalog) })),
    };
  }

  /** One user's sessions started, messages and tokens in the range. */
  async ofUser(userId: string, query: { from: string; to: string }): Promise<UserUsageResult> {
    const range = this.range(query.from, query.to);
    const { started, messages } = await this.stats.ofUser(userId, range);
    const tally = new UsageTally();
    for await (const message of messages) tally.message(message);
    return { userId, range, sessionsStarted: started, figures: tally.figures(this.catalog) };
  }

  /** `from` before `to`, both calendar dates, at most ADMIN_METRICS_MAX_RANGE_DAYS apart. */
  private range(from: string, to: string): TimeRange {
    // Both are given, so both are read.
    const range = parseRange(from, to) as TimeRange;
    const maxDays = this.config.usage.maxRangeDays;
    if (range.to.getTime() - range.from.getTime() > maxDays * DAY_MS) {
      throw new AppError(
        'invalid_payload',
        `to must be at most ${maxDays} days after from (ADMIN_METRICS_MAX_RANGE_DAYS)`,
      );
    }
    return range;
  }
}
