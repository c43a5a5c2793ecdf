import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppError } from '../common/errors/app-error';
import { AppConfig } from '../config/app-config';
import { SessionEvents } from '../session/session-events';
import { AdminSessionView } from '../session/session-views';
import { SessionService } from '../session/session.service';
import { NotificationDispatcher } from './dispatcher.service';
import { NotificationService } from './notification.service';

/** How often each replica looks for open help requests whose notifications were never stored. */
export const HELP_SWEEP_MS = 60000;
const SWEEP_LIMIT = 500;

/**
 * Admins hear of help requests: on the configured channels at once (all but the later steps of
 * HELP_ESCALATION), then, while nobody has taken the session, again on each next channel of HELP_ESCALATION
 * every HELP_ESCALATE_AFTER_MS. A takeover cancels what is still pending; an escalation due for a request
 * that was withdrawn or taken meanwhile is not sent.
 *
 * The request is opened, then its notifications are stored: a replica that dies between the two leaves a
 * request nobody hears of. So every replica also sweeps the open requests at boot and every minute and
 * raises them again; deliveries are named by the request, so what was stored already is not stored twice.
 */
@Injectable()
export class HelpNotifier implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(HelpNotifier.name);
  private timer?: NodeJS.Timeout;
  private sweeping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly events: SessionEvents,
    private readonly sessions: SessionService,
    private readonly notifications: NotificationService,
    private readonly dispatcher: NotificationDispatcher,
  ) {}

  onModuleInit(): void {
    this.events.on('help.requested', ({ sessionId }) => this.notify(sessionId));
    this.events.on('owner.changed', async ({ sessionId, owner }) => {
      if (owner !== 'ai') await this.notifications.cancel(sessionId, 'help.escalated');
    });
    this.dispatcher.checkBeforeSending('help.escalated', async (delivery) => {
      // A session that is gone asks nobody for help; a read that failed is an attempt to make again, not a no.
      const session = delivery.sessionId
        ? await this.sessions.find(delivery.sessionId).catch((error: unknown) => {
            if (error instanceof AppError && error.code === 'not_found') return null;
            throw error;
          })
        : null;
      const help = session?.helpOpen ? session.help : undefined;
      return (
        session?.status === 'active' &&
        session.owner === 'ai' &&
        help !== undefined &&
        new Date(help.requestedAt).toISOString() === delivery.data.requestedAt
      );
    });
  }

  onApplicationBootstrap(): void {
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), HELP_SWEEP_MS);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Raises every open help request again; only those whose notifications were never stored add any. */
  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      // Past the rate limit: the request is named by its time, so its own deliveries decide, and a sweep
      // does not hold back the notification of a request opened anew.
      for (const sessionId of await this.sessions.openHelpSessionIds(SWEEP_LIMIT)) await this.notify(sessionId, true);
    } catch (error) {
      this.logger.warn({ err: error }, 'open help requests not swept; next sweep in a minute');
    } finally {
      this.sweeping = false;
    }
  }

  /** Raises the session's open help request, as it is now: nothing when it was withdrawn or taken meanwhile. */
  private async notify(sessionId: string, swept = false): Promise<void> {
    let session: AdminSessionView;
    try {
      session = await this.sessions.adminView(sessionId);
    } catch (error) {
      // Swept again within a minute.
      this.logger.warn({ err: error, sessionId }, 'help request not read; not notified yet');
      return;
    }
    const { help } = session;
    if (!help || session.status !== 'active' || session.owner !== 'ai') return;
    const { escalation, escalateAfterMs } = this.config.notify;
    const requestedAt = new Date(help.requestedAt);
    const data = {
      sessionId,
      userId: session.userId,
      userName: session.userName ?? undefined,
      source: help.source,
      reason: help.reason ?? undefined,
      requestedAt: help.requestedAt,
    };
    const later = escalation.slice(1);
    await this.notifications.raise({
      event: 'help.requested',
      admitted: swept,
      key: sessionId,
      sessionId,
      data,
      channels: this.notifications.kinds.filter((kind) => !later.includes(kind)),
      occurredAt: requestedAt,
    });
    for (const [step, channel] of later.entries()) {
      await this.notifications.raise({
        event: 'help.escalated',
        key: `${sessionId}:${help.requestedAt}:${step + 1}`,
        once: true,
        sessionId,
        data: { ...data, waitingMs: (step + 1) * escalateAfterMs },
        channels: [channel],
        occurredAt: requestedAt,
        dueAt: new Date(requestedAt.getTime() + (step + 1) * escalateAfterMs),
      });
    }
  }
}
