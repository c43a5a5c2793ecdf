import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import {
  ChannelKind,
  NOTIFICATION_CHANNELS,
  NotificationChannel,
  NotificationData,
  NotificationEvent,
} from './notification-channel';
import { NotificationDispatcher } from './dispatcher.service';
import { OutboxRepository } from './outbox.repository';

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
export class NotificationService {
  private readonly logger = new Logger(NotificationService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly outbox: OutboxRepository,
    @Inject(NOTIFICATION_CHANNELS) private readonly channels: NotificationChannel[],
    private readonly dispatcher: NotificationDispatcher,
  ) {}

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
    for (const channel of raise.channels ?? this.kinds) {
      if (!this.kinds.includes(channel)) continue;
      const idIn = (w: number | undefined) => `${raise.event}:${raise.key}:${w ?? 'once'}:${channel}`;
      const _id = idIn(window);
      try {
        // One per window, and none within NOTIFY_MIN_INTERVAL_MS of the previous window's (which the unique
        // id alone would allow right across a window's edge). Both are settled by documents that never change.
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
        this.logger.error({ err: error, event: raise.event, channel }, 'notification not stored');
      }
    }
    if (stored.length > 0 && (raise.dueAt ?? occurredAt).getTime() <= Date.now()) this.dispatcher.kick(storedOn);
    return stored;
  }

  /**
   * Sends the event without storing it, from this replica, when the outbox itself is out of reach (MongoDB
   * is down). Nothing here makes it once for the cluster: the caller decides that (a Redis SET NX).
   */
  sendUnstored(raise: Raise): void {
    const occurredAt = raise.occurredAt ?? new Date();
    const window = raise.once ? 'once' : Math.floor(occurredAt.getTime() / this.config.notify.minIntervalMs);
    for (const channel of (raise.channels ?? this.kinds).filter((kind) => this.kinds.includes(kind))) {
      const id = `${raise.event}:${raise.key}:${window}:${channel}`;
      void this.dispatcher.sendUnstored({ id, event: raise.event, occurredAt, data: raise.data }, channel);
    }
  }

  /** Cancels the session's pending deliveries of `event` (escalations of a request that was picked up). */
  async cancel(sessionId: string, event: NotificationEvent): Promise<void> {
    await this.outbox
      .cancelPending(sessionId, event, new Date())
      .catch((error: unknown) => this.logger.warn({ err: error, sessionId, event }, 'notifications not cancelled'));
  }
}
