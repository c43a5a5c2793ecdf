import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { SessionService } from '../session/session.service';
import { ConcurrencySampleRepository } from './concurrency-sample.repository';

/** Samples are kept this long (a year and a month, so a year ago's same range can be read), then deleted. */
export const KEEP_SAMPLES_MS = 400 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Samples the cluster's active sessions into `concurrency_samples`, one sample per METRICS_SAMPLE_MS slot for
 * the whole cluster: every replica visits each slot once, at a point of the slot it chose at random, and
 * counts only if the slot has no sample yet; the slot's unique id lets one insert win when two count at
 * once. A slot every replica missed (all down, or the database) has no sample, and the figures say how
 * many samples they saw. Each replica also prunes samples older than KEEP_SAMPLES_MS, hourly (FerretDB has
 * no TTL indexes).
 */
@Injectable()
export class ConcurrencySampler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ConcurrencySampler.name);
  private readonly replica = randomUUID();
  /** This replica's point in every slot, as a share of it: replicas spread out, so most find the sample made. */
  private readonly phase = Math.random();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private prunedAt = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly sessions: SessionService,
    private readonly samples: ConcurrencySampleRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  /** A visit under way is not waited for: blocked on the database, it would hold the shutdown past its deadline. */
  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** The next visit: this replica's point in the current slot if it is still ahead, else in the next one. */
  private schedule(): void {
    if (this.stopped) return;
    const slotMs = this.config.usage.sampleMs;
    const now = Date.now();
    let next = Math.floor(now / slotMs) * slotMs + Math.floor(this.phase * slotMs);
    if (next <= now) next += slotMs;
    this.timer = setTimeout(() => void this.visit().finally(() => this.schedule()), next - now);
  }

  private async visit(): Promise<void> {
    const now = new Date();
    try {
      await this.sample(now);
    } catch (error) {
      this.logger.warn({ err: error }, 'concurrency not sampled in this slot');
    }
    if (now.getTime() - this.prunedAt >= PRUNE_EVERY_MS) {
      this.prunedAt = now.getTime();
      await this.samples.prune(new Date(now.getTime() - KEEP_SAMPLES_MS)).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'old concurrency samples not pruned');
      });
    }
  }

  private async sample(now: Date): Promise<void> {
    const slotMs = this.config.usage.sampleMs;
    const slotId = new Date(Math.floor(now.getTime() / slotMs) * slotMs).toISOString();
    if (await this.samples.exists(slotId)) return;
    const active = await this.sessions.countActive();
    // A duplicate key means another replica sampled the slot meanwhile: theirs stands.
    await this.samples.insert({ _id: slotId, at: now, active, replica: this.replica });
  }
}
