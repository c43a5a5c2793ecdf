import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { Connection } from 'mongoose';
import { AppConfig } from '../config/app-config';

/** The lease's collection and its one document. */
export const INSTANCE_LEASES = 'instance_leases';
const LEASE_ID = 'single-instance';
/** A lease not renewed for this long belongs to a replica that is gone. */
export const LEASE_TTL_MS = 30_000;
const RENEW_MS = LEASE_TTL_MS / 3;

/** Another replica holds the lease: this one must not start. */
export class SecondInstanceError extends Error {}

const isDuplicateKey = (error: unknown) => (error as { code?: unknown }).code === 11000;

/**
 * Without REDIS_URL every replica keeps its conversations' live state in its own memory, so a second one
 * would serve the same users with a different view: in production the service refuses to start next to
 * another replica without Redis. The first takes a lease in MongoDB and renews it; a second finds it held
 * and stops at boot, naming REDIS_URL. A replica that died frees the lease after LEASE_TTL_MS.
 */
@Injectable()
export class SingleInstanceGuard implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SingleInstanceGuard.name);
  private readonly holder = randomUUID();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly config: AppConfig,
    @InjectConnection() private readonly connection: Connection,
  ) {}

  private get enforced(): boolean {
    return this.config.env === 'production' && !this.config.redis.url;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enforced) return;
    const other = await this.take();
    if (other) {
      throw new SecondInstanceError(
        `Another replica (${other}) runs against this database without REDIS_URL. Several replicas need ` +
          'REDIS_URL; without it, run exactly one (it frees its lease on shutdown, or 30 s after it died).',
      );
    }
    this.timer = setInterval(() => void this.renew(), RENEW_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    if (!this.enforced) return;
    await this.leases()
      .deleteOne({ _id: LEASE_ID, holder: this.holder })
      .catch((error: unknown) => this.logger.warn({ err: error }, 'single-instance lease not released'));
  }

  private leases() {
    return this.connection.collection<{ _id: string; holder: string; renewedAt: Date }>(INSTANCE_LEASES);
  }

  /** Takes or renews the lease; the holder's id when another replica has it. */
  private async take(): Promise<string | undefined> {
    const now = new Date();
    try {
      await this.leases().updateOne(
        {
          _id: LEASE_ID,
          $or: [{ holder: this.holder }, { renewedAt: { $lt: new Date(now.getTime() - LEASE_TTL_MS) } }],
        },
        { $set: { holder: this.holder, renewedAt: now } },
        { upsert: true },
      );
      return undefined;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const lease = await this.leases().findOne({ _id: LEASE_ID });
      return lease?.holder ?? 'unknown';
    }
  }

  private async renew(): Promise<void> {
    try {
      const other = await this.take();
      if (other) {
        this.logger.error(
          { holder: other },
          'another replica took the single-instance lease: two replicas run without REDIS_URL; set REDIS_URL',
        );
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'single-instance lease not renewed; trying again');
    }
  }
}
