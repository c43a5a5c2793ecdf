import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Global, Injectable, Logger, Module, OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { Connection } from 'mongoose';
import { AppConfig } from '../config/app-config';

/** The lease's collection and its one document. */
export const INSTANCE_LEASES = 'instance_leases';
const LEASE_ID = 'single-instance';
/** A lease not renewed for this long belongs to a replica that is gone. */
export const LEASE_TTL_MS = 30_000;
const RENEW_MS = LEASE_TTL_MS / 3;
/** Rounds of insert / read / take over before a contested lease is judged held by another. */
const ATTEMPTS = 3;

/** Another replica holds the lease: this one must not start. */
export class SecondInstanceError extends Error {}

interface Lease {
  _id: string;
  holder: string;
  renewedAt: Date;
}

const isDuplicateKey = (error: unknown) => (error as { code?: unknown }).code === 11000;

/**
 * Without REDIS_URL every replica keeps its conversations' live state in its own memory, so a second one
 * would serve the same users with a different view: in production the service refuses to start next to
 * another replica without Redis. The first takes a lease in MongoDB and renews it; a second finds it held
 * and stops before anything else starts (migrations included), naming REDIS_URL. A replica that died frees
 * the lease after LEASE_TTL_MS; one that finds its lease taken steps down (`onLost`).
 *
 * Only atomic single-document operations decide, as FerretDB runs them: the lease is taken by inserting it
 * (a unique `_id`), renewed by its holder only, and a stale one is deleted exactly as read before inserting
 * again, so two replicas taking over at once cannot both win. Every time is the database server's clock,
 * so replicas whose clocks disagree agree on the lease's age.
 */
@Injectable()
export class SingleInstanceGuard implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(SingleInstanceGuard.name);
  private readonly holder = randomUUID();
  private timer?: NodeJS.Timeout;
  private lost?: () => void;

  constructor(
    private readonly config: AppConfig,
    @InjectConnection() private readonly connection: Connection,
  ) {}

  private get enforced(): boolean {
    return this.config.env === 'production' && !this.config.redis.url;
  }

  /** What to do when another replica has taken the lease: the process shuts down. */
  onLost(handler: () => void): void {
    this.lost = handler;
  }

  async onModuleInit(): Promise<void> {
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

  /** Released before any module shuts down, while the database connection is still open. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    if (!this.enforced) return;
    await this.leases()
      .deleteOne({ _id: LEASE_ID, holder: this.holder })
      .catch((error: unknown) => this.logger.warn({ err: error }, 'single-instance lease not released'));
  }

  private leases() {
    return this.connection.collection<Lease>(INSTANCE_LEASES);
  }

  private async serverTime(): Promise<Date> {
    const db = this.connection.db;
    if (!db) throw new Error('not connected to the database');
    const { localTime } = (await db.admin().command({ hello: 1 })) as { localTime?: Date };
    return localTime instanceof Date ? localTime : new Date();
  }

  /** Takes or renews the lease; the holder's id when another replica has it. */
  private async take(): Promise<string | undefined> {
    let holder = 'unknown';
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const now = await this.serverTime();
      try {
        await this.leases().insertOne({ _id: LEASE_ID, holder: this.holder, renewedAt: now });
        return undefined;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      const lease = await this.leases().findOne({ _id: LEASE_ID });
      if (!lease) continue;
      holder = lease.holder;
      if (lease.holder === this.holder) {
        const renewed = await this.leases().updateOne(
          { _id: LEASE_ID, holder: this.holder },
          { $set: { renewedAt: now } },
        );
        if (renewed.matchedCount === 1) return undefined;
        continue;
      }
      if (now.getTime() - lease.renewedAt.getTime() <= LEASE_TTL_MS) return lease.holder;
      // Stale: removed only as read, so of two replicas taking over, the second removes nothing.
      await this.leases().deleteOne({ _id: LEASE_ID, holder: lease.holder, renewedAt: lease.renewedAt });
    }
    return holder;
  }

  private async renew(): Promise<void> {
    try {
      const other = await this.take();
      if (!other) return;
      clearInterval(this.timer);
      this.logger.error(
        { holder: other },
        'another replica took the single-instance lease (two replicas without REDIS_URL): shutting down',
      );
      this.lost?.();
    } catch (error) {
      this.logger.warn({ err: error }, 'single-instance lease not renewed; trying again');
    }
  }
}

/** Global, so that its check runs before any other module's start-up work (migrations, sweeps). */
@Global()
@Module({ providers: [SingleInstanceGuard], exports: [SingleInstanceGuard] })
export class SingleInstanceModule {}
