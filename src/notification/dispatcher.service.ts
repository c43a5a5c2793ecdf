import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge, Histogram } from 'prom-client';
import { AppConfig } from '../config/app-config';
import { withTimeout } from '../common/timers/with-timeout';
import { shutdownStepMs } from '../lifecycle/shutdown-step';
import { NOTIFICATION_LATENCY, NOTIFICATION_OUTBOX, NOTIFICATIONS } from '../metrics/chatbox.metrics';
import {
  ChannelError,
  ChannelKind,
  NOTIFICATION_CHANNELS,
  Notification,
  NotificationChannel,
  NotificationEvent,
} from './notification-channel';
import { Delivery, OutboxRepository } from './outbox.repository';

const BATCH = 20;
/** The longest one attempt may take before it is cut; never more than half of NOTIFY_CLAIM_MS, which outlives it. */
export const ATTEMPT_TIMEOUT_MS = 15000;

/** Ended deliveries stay this long (30 days) for whoever looks into what was sent, then they are deleted. */
export const KEEP_ENDED_MS = 30 * 24 * 3600 * 1000;
/** How often each replica prunes the outbox; claims are deleted an hour after they expired. */
const PRUNE_EVERY_MS = 3600 * 1000;

/** How long an attempt may take under a claim of `claimMs`: cut well before another replica may claim it. */
export function attemptTimeoutMs(claimMs: number): number {
  return Math.min(ATTEMPT_TIMEOUT_MS, Math.floor(claimMs / 2));
}

/** Whether a delivery is still worth making when it is due (an escalation whose request was picked up is not). */
export type DeliveryCheck = (delivery: Delivery) => Promise<boolean>;

/**
 * Delivers the outbox, on every replica: each due delivery's next attempt is claimed by one replica (a
 * unique insert), made, and the delivery ends `sent`, is retried with backoff and jitter after a retryable
 * failure, or ends `failed` with the channel's last error. A replica that dies mid-attempt leaves a claim
 * that expires; another replica makes the next attempt. Delivery is at least once: receivers de-duplicate
 * on the delivery id, the same on every attempt.
 */
@Injectable()
export class NotificationDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(NotificationDispatcher.name);
  private readonly replica = randomUUID();
  private readonly byKind: Map<ChannelKind, NotificationChannel>;
  private readonly checks = new Map<NotificationEvent, DeliveryCheck>();
  private readonly stopping = new AbortController();
  /**
   * One lane per channel configured here, draining on its own: a webhook receiver that hangs does not hold
   * back the email. Deliveries for a channel this replica lacks (a configuration being rolled out) wait for
   * a replica that has it.
   */
  private readonly lanes = new Map<ChannelKind, { running?: Promise<void>; again: boolean }>();
  private timer?: NodeJS.Timeout;
  private prunedAt = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly outbox: OutboxRepository,
    @Inject(NOTIFICATION_CHANNELS) channels: NotificationChannel[],
    @InjectMetric(NOTIFICATIONS) private readonly outcomes: Counter<string>,
    @InjectMetric(NOTIFICATION_LATENCY) private readonly latency: Histogram<string>,
    @InjectMetric(NOTIFICATION_OUTBOX) private readonly depth: Gauge<string>,
  ) {
    this.byKind = new Map(channels.map((c) => [c.kind, c]));
    for (const kind of this.byKind.keys()) this.lanes.set(kind, { again: false });
  }

  /** Deliveries of `event` are made only while `check` says so; the others end `cancelled`. */
  checkBeforeSending(event: NotificationEvent, check: DeliveryCheck): void {
    this.checks.set(event, check);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.poll(), this.config.notify.pollMs);
  }

  /**
   * Sends under way are cut, and their outcomes waited for a quarter of the shutdown's time after the drain,
   * no longer: a database that does not answer must not hold the shutdown. A claim whose outcome was not
   * stored expires, and another replica makes the attempt.
   */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    const lanes = Promise.all([...this.lanes.values()].map((lane) => lane.running ?? Promise.resolve()));
    const waitMs = shutdownStepMs(this.config.shutdown, 1 / 4);
    await withTimeout(lanes, waitMs).catch(() =>
      this.logger.warn(`notification outcomes not stored within ${waitMs} ms of the shutdown: left to their claims`),
    );
  }

  /** The poll: retries, escalations and what other replicas left behind, on every channel; pruning hourly. */
  private poll(): void {
    this.kick();
    const now = Date.now();
    if (now - this.prunedAt >= PRUNE_EVERY_MS) {
      this.prunedAt = now;
      this.outbox.prune(new Date(now - KEEP_ENDED_MS), new Date(now - PRUNE_EVERY_MS)).then(
        (pruned) => this.logger.log(pruned, 'notification outbox pruned'),
        (error: unknown) => this.logger.warn({ err: error }, 'notification outbox not pruned'),
      );
    }
    this.outbox.countPending().then(
      (pending) => this.depth.set(pending),
      (error: unknown) => this.logger.warn({ err: error }, 'notification outbox not counted'),
    );
  }

  /**
   * Drains the channels' lanes now (a notification was just raised here), or once more right after the
   * drain under way in a lane.
   */
  kick(channels: readonly ChannelKind[] = [...this.lanes.keys()]): void {
    if (this.stopping.signal.aborted) return;
    for (const kind of channels) {
      const lane = this.lanes.get(kind);
      if (!lane) continue;
      if (lane.running) {
        lane.again = true;
        continue;
      }
      lane.running = this.drainChannel(kind).finally(() => {
        lane.running = undefined;
        if (lane.again) {
          lane.again = false;
          this.kick([kind]);
        }
      });
    }
  }

  /** One pass over every channel's due attempts, side by side. */
  async drain(): Promise<void> {
    await Promise.all([...this.lanes.keys()].map((kind) => this.drainChannel(kind)));
  }

  /** Makes the channel's attempts due now, one after another. */
  private async drainChannel(kind: ChannelKind): Promise<void> {
    try {
      for (const delivery of await this.outbox.due(kind, new Date(), BATCH)) {
        if (this.stopping.signal.aborted) return;
        await this.attempt(delivery).catch((error: unknown) =>
          this.logger.warn({ err: error, deliveryId: delivery._id }, 'notification attempt not settled'),
        );
      }
    } catch (error) {
      this.logger.warn({ err: error, channel: kind }, 'notification outbox not read; retrying next interval');
    }
  }

  private async attempt(delivery: Delivery): Promise<void> {
    const now = new Date();
    if (!(await this.outbox.claim(delivery, this.replica, now, this.config.notify))) return;
    // Dropped only once the outcome is stored: a claim left by an attempt whose outcome could not be
    // written expires and counts that attempt, so a send that went out is not made again at once.
    await this.make(delivery, now);
    await this.outbox.dropClaim(delivery).catch(() => undefined);
  }

  /** The claimed attempt: checked, sent, and the delivery advanced by its outcome. */
  private async make(delivery: Delivery, now: Date): Promise<void> {
    const labels = { event: delivery.event, channel: delivery.channel };
    const check = this.checks.get(delivery.event);
    try {
      if (check && !(await check(delivery))) {
        this.outcomes.inc({ ...labels, outcome: 'cancelled' });
        return await this.outbox.advance(delivery, { status: 'cancelled', endedAt: now });
      }
    } catch (error) {
      // The check could not tell (a failed read): an attempt that failed, retried with backoff like any other.
      return this.failed(delivery, error);
    }
    const channel = this.byKind.get(delivery.channel);
    try {
      if (!channel) throw new ChannelError(`The ${delivery.channel} channel is not configured here`, false);
      const timeout = AbortSignal.timeout(attemptTimeoutMs(this.config.notify.claimMs));
      const signal = AbortSignal.any([this.stopping.signal, timeout]);
      await channel.send(
        { id: delivery._id, event: delivery.event, occurredAt: new Date(delivery.occurredAt), data: delivery.data },
        signal,
      );
    } catch (error) {
      return this.failed(delivery, error);
    }
    const sentAt = new Date();
    await this.outbox.advance(delivery, { status: 'sent', endedAt: sentAt, lastError: null });
    this.outcomes.inc({ ...labels, outcome: 'sent' });
    this.latency.observe(labels, (sentAt.getTime() - new Date(delivery.dueAt).getTime()) / 1000);
  }

  private async failed(delivery: Delivery, error: unknown): Promise<void> {
    // Cut by this replica shutting down: not the channel's fault, and the claim expires for another replica.
    if (this.stopping.signal.aborted) return;
    const labels = { event: delivery.event, channel: delivery.channel };
    const { message, final } = this.judge(delivery._id, labels, delivery.attempts, error);
    if (final) return this.outbox.advance(delivery, { status: 'failed', endedAt: new Date(), lastError: message });
    await this.outbox.advance(delivery, {
      dueAt: new Date(Date.now() + this.backoffMs(delivery.attempts)),
      lastError: message,
    });
  }

  /** Logs and counts a failed attempt; `final` when it is not to be retried. */
  private judge(
    id: string,
    labels: { event: NotificationEvent; channel: ChannelKind },
    attempts: number,
    error: unknown,
  ): { message: string; final: boolean } {
    const message = error instanceof Error ? error.message.slice(0, 500) : 'unknown error';
    const retryable = !(error instanceof ChannelError) || error.retryable;
    this.logger.warn({ deliveryId: id, ...labels, attempt: attempts + 1, retryable }, message);
    const final = !retryable || attempts + 1 >= this.config.notify.maxAttempts;
    this.outcomes.inc({ ...labels, outcome: final ? 'failed' : 'retried' });
    return { message, final };
  }

  /** Full jitter over an exponential ceiling: replicas retrying one receiver spread out. */
  private backoffMs(attempts: number): number {
    const { retryBaseMs, retryMaxMs } = this.config.notify;
    const ceiling = Math.min(retryMaxMs, retryBaseMs * 2 ** attempts);
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  /**
   * Sends a notification that could not be stored (the outbox is out of reach: MongoDB is down), from this
   * replica, with the outbox's retries kept in memory; resolves true once it ended sent or failed, false
   * when the replica stopped first (then another replica is to send it). Whoever calls it decides it is the cluster's only copy, and holds that right for as long as
   * `hold(ms)` asks before each attempt and each wait.
   */
  async sendUnstored(
    notification: Notification,
    kind: ChannelKind,
    hold: (ms: number) => Promise<unknown>,
  ): Promise<boolean> {
    const channel = this.byKind.get(kind);
    if (!channel) return true;
    const labels = { event: notification.event, channel: kind };
    const { claimMs } = this.config.notify;
    for (let attempts = 0; !this.stopping.signal.aborted; attempts++) {
      try {
        await hold(claimMs);
        const timeout = AbortSignal.timeout(attemptTimeoutMs(claimMs));
        await channel.send(notification, AbortSignal.any([this.stopping.signal, timeout]));
        this.outcomes.inc({ ...labels, outcome: 'sent' });
        this.latency.observe(labels, (Date.now() - notification.occurredAt.getTime()) / 1000);
        return true;
      } catch (error) {
        if (this.stopping.signal.aborted) return false;
        if (this.judge(notification.id, labels, attempts, error).final) return true;
      }
      const wait = this.backoffMs(attempts);
      await hold(wait + claimMs);
      await delay(wait, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
    return false;
  }
}
