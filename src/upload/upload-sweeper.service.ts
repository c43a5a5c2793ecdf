import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Periodic } from '../common/timers/periodic';
import { UploadService } from './upload.service';

/** How often each replica looks, and how old an unfinished upload must be to count as abandoned. */
const SWEEP_INTERVAL_MS = 10 * 60_000;
const ABANDONED_AFTER_MS = 60 * 60_000;

/**
 * Finishes uploads a crash cut short (a record whose object was never confirmed, a staged file): once at
 * start-up and every SWEEP_INTERVAL_MS on every replica. Each step is idempotent, so replicas sweeping
 * the same records at once do no harm; an upload is an hour old long after its object is written.
 */
@Injectable()
export class UploadSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(UploadSweeper.name);
  private readonly periodic = new Periodic(() => this.sweep(), SWEEP_INTERVAL_MS);

  constructor(private readonly uploads: UploadService) {}

  onApplicationBootstrap(): void {
    this.periodic.start({ now: true });
  }

  onApplicationShutdown(): void {
    this.periodic.stop();
  }

  private async sweep(): Promise<void> {
    try {
      const swept = await this.uploads.sweepAbandoned(new Date(), ABANDONED_AFTER_MS);
      if (swept.records + swept.staged > 0) this.logger.log(swept, 'abandoned uploads removed');
    } catch (error) {
      this.logger.warn({ err: error }, 'abandoned-upload sweep failed; the next pass goes on');
    }
  }
}
