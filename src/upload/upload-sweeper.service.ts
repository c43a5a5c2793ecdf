import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
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
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly uploads: UploadService) {}

  onApplicationBootstrap(): void {
    const tick = () => {
      this.running ??= this.sweep().finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, SWEEP_INTERVAL_MS);
  }

  /**
   * Not waited for: a pass blocked on the database (restarting, unreachable) could hold the shutdown past
   * its deadline. Closing the connection fails what it was waiting on; every step is idempotent, so the
   * next pass, on any replica, finishes it.
   */
  onApplicationShutdown(): void {
    clearInterval(this.timer);
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
