import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';

/**
 * The slots for heavy reads on this replica (ADMIN_HEAVY_READS_MAX): per replica, not shared, since what a
 * heavy read uses up is the replica's own event loop, memory and database connections.
 */
@Injectable()
export class HeavyReadLimiter {
  private running = 0;

  constructor(private readonly config: AppConfig) {}

  get max(): number {
    return this.config.usage.heavyReadsMax;
  }

  /** A slot and the function that gives it back (call it once); undefined when none is free. */
  tryAcquire(): (() => void) | undefined {
    if (this.running >= this.max) return undefined;
    this.running++;
    return () => {
      this.running--;
    };
  }
}
