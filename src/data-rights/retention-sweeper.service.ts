import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Connection } from 'mongoose';
import { Counter } from 'prom-client';
import { Periodic } from '../common/timers/periodic';
import { AppConfig } from '../config/app-config';
import { LeadershipStore } from '../coordination/leadership.store';
import { RETENTION_ERASED, RETENTION_SWEEPS } from '../metrics/chatbox.metrics';
import { SessionErasureService } from '../session/session-erasure.service';
import { UploadService } from '../upload/upload.service';
import { DataRightsService } from './data-rights.service';

const DAY_MS = 86_400_000;
/** Sessions read and erased at a time, and batches a pass, so one pass is bounded work. */
const BATCH = 100;
const BATCHES_A_PASS = 10;

/**
 * Deletes sessions that ended more than RETENTION_DAYS ago, with all that erasure deletes, every
 * RETENTION_SWEEP_INTERVAL_MS. One replica of the cluster sweeps at a time (the leadership store), the
 * oldest ended first, on the `endedAt` index. Idle when RETENTION_DAYS is unset.
 */
@Injectable()
export class RetentionSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RetentionSweeper.name);
  private readonly holder = randomUUID();
  /** One sweeper per database, as for the other cluster-wide roles. */
  private readonly role: string;
  private periodic?: Periodic;

  constructor(
    private readonly config: AppConfig,
    private readonly erasure: SessionErasureService,
    private readonly dataRights: DataRightsService,
    private readonly uploads: UploadService,
    private readonly leadership: LeadershipStore,
    @InjectMetric(RETENTION_SWEEPS) private readonly sweeps: Counter<string>,
    @InjectMetric(RETENTION_ERASED) private readonly erased: Counter<string>,
    @InjectConnection() connection: Connection,
  ) {
    this.role = `retention-sweeper:${connection.name}`;
  }

  onApplicationBootstrap(): void {
    const { days, sweepIntervalMs } = this.config.retention;
    if (days === undefined) return;
    this.periodic = new Periodic(() => this.tick(days), sweepIntervalMs);
    this.periodic.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.periodic?.stop();
    await this.leadership.release(this.role, this.holder).catch(() => undefined);
  }

  private async tick(days: number): Promise<void> {
    try {
      const ttlMs = this.config.retention.sweepIntervalMs * 3;
      if (await this.leadership.hold(this.role, this.holder, ttlMs)) await this.sweep(days);
    } catch (error) {
      this.logger.warn({ err: error }, 'retention sweep failed; the next pass goes on');
    }
  }

  /**
   * One pass: up to BATCHES_A_PASS batches of sessions ended before `now` less `days`, and the files never
   * sent that were uploaded before then; how many sessions it deleted.
   */
  async sweep(days: number, now = new Date()): Promise<number> {
    this.sweeps.inc();
    const cutoff = new Date(now.getTime() - days * DAY_MS);
    let sessions = 0;
    let messages = 0;
    for (let batch = 0; batch < BATCHES_A_PASS; batch++) {
      const ids = await this.erasure.idsEndedBefore(cutoff, BATCH);
      for (const sessionId of ids) {
        const erased = await this.dataRights.eraseSession(sessionId);
        sessions += erased.sessions;
        messages += erased.messages;
        this.erased.inc(erased.sessions);
      }
      if (ids.length < BATCH) break;
    }
    if (sessions > 0) {
      this.logger.log({ sessions, messages, endedBefore: cutoff.toISOString() }, 'retention: old sessions deleted');
    }
    // Files uploaded and never sent belong to no session: they are kept as long, from their upload.
    const files = await this.uploads.eraseUnsent(cutoff);
    if (files > 0) this.logger.log({ files, uploadedBefore: cutoff.toISOString() }, 'retention: unsent files deleted');
    return sessions;
  }
}
