import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { Connection } from 'mongoose';
import { AppConfig } from '../config/app-config';
import { withTimeout } from '../common/timers/with-timeout';
import { RedisConnection } from '../redis/redis-connection';
import { NotificationService, Raise } from './notification.service';

const PING_TIMEOUT_MS = 2000;
/** Redis scripts that touch a lease only while it holds this replica's id (ARGV[1]). */
const RENEW_IF_MINE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0`;
const DELETE_IF_MINE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

interface Watch {
  /** As admins read it. */
  name: 'MongoDB' | 'Redis';
  key: 'mongodb' | 'redis';
  ping(): Promise<unknown>;
  /** When the first failed ping of the outage was. */
  downSince?: number;
  lastError?: string;
  /** Down for longer than DEPENDENCY_DOWN_AFTER_MS: admins were (or are being) told. */
  told: boolean;
  /** This replica is telling them without the outbox (MongoDB down). */
  sending?: boolean;
}

/**
 * Admins hear when MongoDB or Redis has been unreachable for DEPENDENCY_DOWN_AFTER_MS, and when it is back.
 * Every replica pings both; the cluster sends one notification. For Redis down, the outbox's unique id
 * decides, as for any event. For MongoDB down the outbox is out of reach: one replica takes a lease in Redis
 * and sends it straight away, retrying in memory and renewing the lease; if it dies, the lease runs out and
 * another replica sends it. With Redis down too, every replica sends its own. "Recovered" goes through the
 * outbox again.
 */
@Injectable()
export class DependencyNotifier implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DependencyNotifier.name);
  private readonly replica = randomUUID();
  private readonly watches: Watch[] = [];
  private timer?: NodeJS.Timeout;
  private checking = false;

  constructor(
    private readonly config: AppConfig,
    @InjectConnection() connection: Connection,
    private readonly redis: RedisConnection,
    private readonly notifications: NotificationService,
  ) {
    this.watches.push({
      name: 'MongoDB',
      key: 'mongodb',
      ping: () => connection.db?.admin().ping() ?? Promise.reject(new Error('not connected')),
      told: false,
    });
    const { client } = redis;
    if (client) this.watches.push({ name: 'Redis', key: 'redis', ping: () => client.ping(), told: false });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.check(), this.config.notify.dependencyDown.checkMs);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await Promise.all(this.watches.map((watch) => this.checkOne(watch)));
    } catch (error) {
      this.logger.warn({ err: error }, 'dependencies not checked; checking again next interval');
    } finally {
      this.checking = false;
    }
  }

  private async checkOne(watch: Watch): Promise<void> {
    const now = Date.now();
    try {
      await withTimeout(watch.ping(), PING_TIMEOUT_MS);
    } catch (error) {
      watch.downSince ??= now;
      watch.lastError = error instanceof Error ? error.message : String(error);
      if (!watch.told && now - watch.downSince >= this.config.notify.dependencyDown.afterMs)
        await this.down(watch, now);
      return;
    }
    const { told, downSince } = watch;
    watch.downSince = undefined;
    watch.told = false;
    if (told && downSince !== undefined) await this.recovered(watch, now - downSince);
  }

  private async down(watch: Watch, now: number): Promise<void> {
    const seconds = Math.round((now - (watch.downSince ?? now)) / 1000);
    const raise: Raise = {
      event: 'dependency.down',
      key: watch.key,
      data: { dependency: watch.name, detail: `unreachable for ${seconds} s: ${watch.lastError ?? 'no answer'}` },
      occurredAt: new Date(now),
    };
    if (watch.key === 'redis') {
      watch.told = true;
      this.logger.error({ dependency: watch.key, err: watch.lastError }, `${watch.name} unreachable for ${seconds} s`);
      // One raised while MongoDB is out of reach too is stored once it is back.
      return this.handled(raise, (await this.notifications.raise(raise)).length > 0);
    }
    if (watch.sending) return;
    const lease = await this.leaseToTell(raise);
    if (lease === 'told') {
      watch.told = true;
      return this.handled(raise, false);
    }
    // Another replica is telling (its lease has not run out): look again at the next check.
    if (lease === 'taken') return;
    watch.told = true;
    watch.sending = true;
    this.logger.error(
      { dependency: watch.key, err: watch.lastError },
      `${watch.name} unreachable for ${seconds} s; telling the admins from this replica`,
    );
    void this.notifications
      .sendUnstored(raise, (ms) => lease.hold(ms))
      // A replica stopped mid-send leaves its lease to run out: another one is then to send it.
      .then((concluded) => (concluded ? lease.done() : undefined))
      .finally(() => {
        watch.sending = false;
        this.handled(raise, true);
      });
  }

  private async recovered(watch: Watch, downMs: number): Promise<void> {
    this.logger.warn({ dependency: watch.key }, `${watch.name} reachable again`);
    const raise: Raise = {
      event: 'dependency.recovered',
      key: watch.key,
      data: { dependency: watch.name, detail: `unreachable for ${Math.round(downMs / 1000)} s` },
    };
    this.handled(raise, (await this.notifications.raise(raise)).length > 0);
  }

  /** `here`: this replica raised it; otherwise another one did (or storing it failed, logged already). */
  private handled(raise: Raise, here: boolean): void {
    this.logger.warn({ dependency: raise.key, raisedHere: here }, `${raise.event} handled`);
  }

  /**
   * Who tells the admins of `raise` without the outbox: `told` when a replica did within NOTIFY_MIN_INTERVAL_MS,
   * `taken` while another one holds the lease, else the lease, which this replica keeps while it sends (a
   * replica that dies lets it run out, and the next check of another replica takes over). Without Redis,
   * or with Redis failing too, every replica tells.
   */
  private async leaseToTell(
    raise: Raise,
  ): Promise<'told' | 'taken' | { hold(ms: number): Promise<unknown>; done(): Promise<unknown> }> {
    const { client } = this.redis;
    const always = { hold: () => Promise.resolve(), done: () => Promise.resolve() };
    if (!client) return always;
    const key = `chatbox:notify:${raise.event}:${raise.key}`;
    const bounded = <T>(work: Promise<T>) => withTimeout(work, PING_TIMEOUT_MS);
    try {
      if (await bounded(client.exists(`${key}:told`))) return 'told';
      const ms = this.config.notify.claimMs;
      if ((await bounded(client.set(`${key}:lease`, this.replica, 'PX', ms, 'NX'))) !== 'OK') return 'taken';
    } catch {
      return always;
    }
    const { minIntervalMs } = this.config.notify;
    return {
      // Only while the lease is still this replica's: one that ran out and was taken is not taken back.
      hold: (ms) => bounded(client.eval(RENEW_IF_MINE, 1, `${key}:lease`, this.replica, ms)).catch(() => undefined),
      done: () =>
        bounded(client.set(`${key}:told`, this.replica, 'PX', minIntervalMs))
          .then(() => bounded(client.eval(DELETE_IF_MINE, 1, `${key}:lease`, this.replica)))
          .catch(() => undefined),
    };
  }
}
