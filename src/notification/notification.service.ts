import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { withTimeout } from '../common/timers/with-timeout';
import { RedisConnection } from '../redis/redis-connection';
import {
  ChannelKind,
  NOTIFICATION_CHANNELS,
  NotificationChannel,
  NotificationData,
  NotificationEvent,
} from './notification-channel';
import { NotificationDispatcher } from './dispatcher.service';
import { OutboxRepository } from './outbox.repository';

/** How long the rate limit waits for Redis before it lets the documents decide. */
const REDIS_TIMEOUT_MS = 1000;
/** How many raises that could not be stored a replica keeps to store later. */
const UNSTORED_MAX = 200;

export interface Raise {
  event: NotificationEvent;
  /**
   * What the event is about (a session, a provider): with the event and the channel, it names the delivery,
   * so raising the same thing again — on another replica, or within NOTIFY_MIN_INTERVAL_MS — adds nothing.
   * Deliveries are named by the window of NOTIFY_MIN_INTERVAL_MS that `occurredAt` falls in.
   */
  key: string;
  data: NotificationData;
  /** Only these channels (default: every configured one). */
  channels?: ChannelKind[];
  /** Not rate-limited by window: the key alone names it (an escalation step of one request). */
  once?: boolean;
  /** Let through the rate limit already (a raise stored again after a failure). */
  admitted?: boolean;
  /** When the delivery is due (default: now). */
  dueAt?: Date;
  sessionId?: string;
  occurredAt?: Date;
}

/**
 * Raises notifications: each becomes one outbox document per channel, written once for the whole cluster,
 * and is delivered later by the dispatcher. Raising never waits on a channel and never throws into its
 * caller (a chat turn, a request): a failure to store it is logged.
 */
@Injectable()
export class NotificationService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(NotificationService.name);
  /** Raises whose deliveries could not be stored (MongoDB out of reach), to store again; the oldest go first. */
  private readonly unstored = new Map<string, Raise>();
  private timer?: NodeJS.Timeout;
  private replaying = false;

  constructor(
    private readonly config: AppConfig,
    private readonly outbox: OutboxRepository,
    @Inject(NOTIFICATION_CHANNELS) private readonly channels: NotificationChannel[],
    private readonly dispatcher: NotificationDispatcher,
    private readonly redis: RedisConnection,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.replay(), this.config.notify.pollMs);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    if (this.unstored.size > 0) {
      this.logger.error({ events: [...this.unstored.keys()] }, 'notifications never stored, lost with this replica');
    }
  }

  /** The configured channels, in configuration order. */
  get kinds(): ChannelKind[] {
    return this.channels.map((c) => c.kind);
  }

  /** Stores the event's deliveries; the ids of those newly stored (none when it was raised already). */
  async raise(raise: Raise): Promise<string[]> {
    const occurredAt = raise.occurredAt ?? new Date();
    const { minIntervalMs } = this.config.notify;
    const window = raise.once ? undefined : Math.floor(occurredAt.getTime() / minIntervalMs);
    const stored: string[] = [];
    const storedOn: ChannelKind[] = [];
    const failedOn: ChannelKind[] = [];
    for (const channel of raise.channels ?? this.kinds) {
      if (!this.kinds.includes(channel)) continue;
      const idIn = (w: number | undefined) => `${raise.event}:${raise.key}:${w ?? 'once'}:${channel}`;
      const _id = idIn(window);
      try {
        // At most one per NOTIFY_MIN_INTERVAL_MS for the cluster: a Redis key decides at once. Without Redis,
        // the documents do: one per window, and none within the interval of the previous window's (which the
        // unique id alone would allow right across a window's edge).
        if (
          window !== undefined &&
          !raise.admitted &&
          !(await this.firstInInterval(`${raise.event}:${raise.key}:${channel}`))
        ) {
          continue;
        }
        if (window !== undefined) {
          const previous = await this.outbox.findById(idIn(window - 1));
          if (previous && occurredAt.getTime() - new Date(previous.occurredAt).getTime() < minIntervalMs) continue;
        }
        const inserted = await this.outbox.insert({
          _id,
          event: raise.event,
          channel,
          data: raise.data,
          occurredAt,
          sessionId: raise.sessionId ?? null,
          status: 'pending',
          attempts: 0,
          dueAt: raise.dueAt ?? occurredAt,
          lastError: null,
          endedAt: null,
        });
        if (inserted) {
          stored.push(_id);
          storedOn.push(channel);
        }
      } catch (error) {
        this.logger.error(
          { err: error, event: raise.event, channel },
          'notification not stored; storing it again later',
        );
        failedOn.push(channel);
      }
    }
    if (failedOn.length > 0) this.keepUnstored({ ...raise, occurredAt, channels: failedOn, admitted: true });
    if (stored.length > 0 && (raise.dueAt ?? occurredAt).getTime() <= Date.now()) this.dispatcher.kick(storedOn);
    return stored;
  }

  /** Whether this raise of `name` is the first within NOTIFY_MIN_INTERVAL_MS in the cluster (true without Redis). */
  private async firstInInterval(name: string): Promise<boolean> {
    const { client } = this.redis;
    if (!client) return true;
    try {
      const set = client.set(`chatbox:notify:interval:${name}`, '1', 'PX', this.config.notify.minIntervalMs, 'NX');
      return (await withTimeout(set, REDIS_TIMEOUT_MS)) === 'OK';
    } catch {
      return true;
    }
  }

  /**
   * Keeps a raise to store again at the next poll. Its time is fixed, so the deliveries get the ids they would
   * have had (one that another replica stored meanwhile is not stored twice). At most UNSTORED_MAX are kept.
   */
  private keepUnstored(raise: Raise & { occurredAt: Date }): void {
    this.unstored.set(`${raise.event}:${raise.key}:${raise.occurredAt.getTime()}:${raise.channels?.join(',')}`, raise);
    for (const [key] of this.unstored) {
      if (this.unstored.size <= UNSTORED_MAX) break;
      this.unstored.delete(key);
      this.logger.error({ event: key }, 'notification dropped: too many could not be stored');
    }
  }

  private async replay(): Promise<void> {
    if (this.replaying || this.unstored.size === 0) return;
    this.replaying = true;
    try {
      for (const [key, raise] of [...this.unstored]) {
        this.unstored.delete(key);
        // A raise that fails again is kept again, under the same key.
        await this.raise(raise);
      }
    } finally {
      this.replaying = false;
    }
  }

  /**
   * Sends the event without storing it, from this replica, when the outbox itself is out of reach (MongoDB
   * is down); resolves when every channel is done. Nothing here makes it once for the cluster: the caller
   * decides that, with a lease that `hold(ms)` keeps for as long as asked (best effort: never throws). True when
   * every channel ended sent or failed; false when the replica stopped first.
   */
  async sendUnstored(raise: Raise, hold: (ms: number) => Promise<unknown>): Promise<boolean> {
    const occurredAt = raise.occurredAt ?? new Date();
    const window = raise.once ? 'once' : Math.floor(occurredAt.getTime() / this.config.notify.minIntervalMs);
    const channels = (raise.channels ?? this.kinds).filter((kind) => this.kinds.includes(kind));
    const concluded = await Promise.all(
      channels.map((channel) =>
        this.dispatcher.sendUnstored(
          { id: `${raise.event}:${raise.key}:${window}:${channel}`, event: raise.event, occurredAt, data: raise.data },
          channel,
          hold,
        ),
      ),
    );
    return concluded.every(Boolean);
  }

  /** Cancels the session's pending deliveries of `event` (escalations of a request that was picked up). */
  async cancel(sessionId: string, event: NotificationEvent): Promise<void> {
    await this.outbox
      .cancelPending(sessionId, event, new Date())
      .catch((error: unknown) => this.logger.warn({ err: error, sessionId, event }, 'notifications not cancelled'));
  }

  /** Forgets every notification about the session (it is being erased): how many deliveries were deleted. */
  forgetSession(sessionId: string): Promise<number> {
    return this.outbox.deleteForSession(sessionId);
  }
}
