import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Global, Injectable, Logger, Module, OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { Connection } from 'mongoose';
import { AppConfig } from '../config/app-config';

/** The lease's collection: one document per generation of the lease, the newest deciding. */
export const INSTANCE_LEASES = 'instance_leases';
/** A lease not renewed for this long belongs to a replica that is gone. */
export const LEASE_TTL_MS = 30_000;
const RENEW_MS = LEASE_TTL_MS / 3;
/** Rounds of read / insert before a contested lease is judged held by another. */
const ATTEMPTS = 3;

/** Another replica holds the lease: this one must not start. */
export class SecondInstanceError extends Error {}

export interface InstanceLease {
  _id: string;
  generation: number;
  holder: string;
  renewedAt: Date;
}

export const leaseId = (generation: number) => `single-instance:${generation}`;

const isDuplicateKey = (error: unknown) => (error as { code?: unknown }).code === 11000;

/**
 * Without REDIS_URL every replica keeps its conversations' live state in its own memory, so a second one
 * would serve the same users with a different view: in production the service refuses to start next to
 * another replica without Redis. The first takes a lease in MongoDB and renews it; a second finds it held
 * and stops before anything else starts (migrations included), naming REDIS_URL. A replica that died frees
 * the lease after LEASE_TTL_MS; one that finds its lease taken steps down (`onLost`).
 *
 * Only the uniqueness of `_id` decides who holds it: the lease is taken by inserting generation n + 1 over
 * a stale generation n (or the first over none), so of replicas taking it at once exactly one insert
 * succeeds. No conditional delete or update decides anything, since FerretDB v1 runs those as a read and
 * then a write by `_id`, between which another replica can act. Every time is the database server's clock,
 * so replicas whose clocks disagree agree on the lease's age.
 */
@Injectable()
export class SingleInstanceGuard implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(SingleInstanceGuard.name);
  private readonly holder = randomUUID();
  /** The generation this replica holds. */
  private generation?: number;
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

  /**
   * Released before any module shuts down, while the database connection is still open: marked stale, not
   * deleted, so the next replica takes the generation after it. Numbering never starts over, or a replica
   * that read this generation as stale just before could insert the next one beside a first one.
   */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    if (!this.enforced || this.generation === undefined) return;
    await this.leases()
      .updateOne({ _id: leaseId(this.generation), holder: this.holder }, { $set: { renewedAt: new Date(0) } })
      .catch((error: unknown) => this.logger.warn({ err: error }, 'single-instance lease not released'));
  }

  private leases() {
    return this.connection.collection<InstanceLease>(INSTANCE_LEASES);
  }

  private newest(): Promise<InstanceLease | null> {
    return this.leases().find({}).sort({ generation: -1 }).limit(1).next();
  }

  private async serverTime(): Promise<Date> {
    const db = this.connection.db;
    if (!db) throw new Error('not connected to the database');
    const { localTime } = (await db.admin().command({ hello: 1 })) as { localTime?: Date };
    return localTime instanceof Date ? localTime : new Date();
  }

  /** Takes the lease when none is live; the holder's id when another replica has it. */
  private async take(): Promise<string | undefined> {
    let holder = 'unknown';
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const now = await this.serverTime();
      const lease = await this.newest();
      if (lease) holder = lease.holder;
      if (lease && now.getTime() - lease.renewedAt.getTime() <= LEASE_TTL_MS) return lease.holder;
      const generation = (lease?.generation ?? 0) + 1;
      try {
        await this.leases().insertOne({ _id: leaseId(generation), generation, holder: this.holder, renewedAt: now });
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        continue;
      }
      // An insert after a long stall may reuse a generation already cleared away beneath a newer one: only
      // the newest holds.
      const newest = await this.newest();
      if (newest && newest.generation !== generation) {
        await this.leases().deleteOne({ _id: leaseId(generation), holder: this.holder });
        return newest.holder;
      }
      this.generation = generation;
      // The generations before are stale or released: only their records go.
      await this.leases().deleteMany({ generation: { $lt: generation } });
      return undefined;
    }
    return holder;
  }

  /** Renews this replica's generation; steps down when a newer one exists (another replica took over). */
  private async renew(): Promise<void> {
    try {
      const generation = this.generation as number;
      await this.leases().updateOne(
        { _id: leaseId(generation), holder: this.holder },
        { $set: { renewedAt: await this.serverTime() } },
      );
      const newest = await this.newest();
      if (newest?.generation === generation && newest.holder === this.holder) return;
      // Gone without a successor (the collection emptied by hand): taken again if nobody else has.
      const other = newest ? newest.holder : await this.take();
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
