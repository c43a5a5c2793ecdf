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
    const window = raise.once ? 'once' : Math.floor(occurredAt.getTime() / this.config.notify.minIntervalMs);
    const stored: string[] = [];
    for (const channel of raise.channels ?? this.kinds) {
      if (!this.kinds.includes(channel)) continue;
      const _id = `${raise.event}:${raise.key}:${window}:${channel}`;
      try {
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
        if (inserted) stored.push(_id);
      } catch (error) {
        this.logger.error({ err: error, event: raise.event, channel }, 'notification not stored');
      }
    }
    if (stored.length > 0 && (raise.dueAt ?? occurredAt).getTime() <= Date.now()) this.dispatcher.kick();
    return stored;
  }

  /** Cancels the session's pending deliveries of `event` (escalations of a request that was picked up). */
  async cancel(sessionId: string, event: NotificationEvent): Promise<void> {
    await this.outbox
      .cancelPending(sessionId, event, new Date())
      .catch((error: unknown) => this.logger.warn({ err: error, sessionId, event }, 'notifications not cancelled'));
  }
}
