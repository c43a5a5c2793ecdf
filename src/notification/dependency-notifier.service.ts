import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { Connection } from 'mongoose';
import { AppConfig } from '../config/app-config';
import { withTimeout } from '../health/indicators/with-timeout';
import { RedisConnection } from '../redis/redis-connection';
import { NotificationService, Raise } from './notification.service';

const PING_TIMEOUT_MS = 2000;

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
}

/**
 * Admins hear when MongoDB or Redis has been unreachable for DEPENDENCY_DOWN_AFTER_MS, and when it is back.
 * Every replica pings both; the cluster sends one notification. For Redis down, the outbox's unique id
 * decides, as for any event. For MongoDB down the outbox is out of reach: the replica that sets a Redis key
 * first (SET NX, for NOTIFY_MIN_INTERVAL_MS) sends it straight away, retrying in memory; with Redis down too,
 * every replica sends its own. "Recovered" goes through the outbox again.
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
      if (!watch.told && now - watch.downSince >= this.config.notify.dependencyDown.afterMs) {
        watch.told = true;
        await this.down(watch, now);
      }
      return;
    }
    const { told, downSince } = watch;
    watch.downSince = undefined;
    watch.told = false;
    if (told && downSince !== undefined) await this.recovered(watch, now - downSince);
  }

  private async down(watch: Watch, now: number): Promise<void> {
    const seconds = Math.round((now - (watch.downSince ?? now)) / 1000);
    this.logger.error({ dependency: watch.key, err: watch.lastError }, `${watch.name} unreachable for ${seconds} s`);
    const raise: Raise = {
      event: 'dependency.down',
      key: watch.key,
      data: { dependency: watch.name, detail: `unreachable for ${seconds} s: ${watch.lastError ?? 'no answer'}` },
      occurredAt: new Date(now),
    };
    let here: boolean;
    if (watch.key === 'redis') {
      here = (await this.notifications.raise(raise)).length > 0;
    } else {
      here = await this.firstToTell(raise);
      if (here) this.notifications.sendUnstored(raise);
    }
    this.handled(raise, here);
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

  /** Whether this replica is the cluster's one to send `raise` now; when that cannot be told, it is. */
  private async firstToTell(raise: Raise): Promise<boolean> {
    const { client } = this.redis;
    if (!client) return true;
    try {
      const key = `chatbox:notify:${raise.event}:${raise.key}`;
      const set = client.set(key, this.replica, 'PX', this.config.notify.minIntervalMs, 'NX');
      return (await withTimeout(set, PING_TIMEOUT_MS)) === 'OK';
    } catch {
      return true;
    }
  }
}
