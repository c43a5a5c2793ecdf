import { Injectable, OnModuleInit } from '@nestjs/common';
import { AppError } from '../common/errors/app-error';
import { AppConfig } from '../config/app-config';
import { SessionEvents } from '../session/session-events';
import { SessionService } from '../session/session.service';
import { NotificationDispatcher } from './dispatcher.service';
import { NotificationService } from './notification.service';

/**
 * Admins hear of help requests: on the configured channels at once (all but the later steps of
 * HELP_ESCALATION), then, while nobody has taken the session, again on each next channel of HELP_ESCALATION
 * every HELP_ESCALATE_AFTER_MS. A takeover cancels what is still pending; an escalation due for a request
 * that was withdrawn or taken meanwhile is not sent.
 */
@Injectable()
export class HelpNotifier implements OnModuleInit {
  constructor(
    private readonly config: AppConfig,
    private readonly events: SessionEvents,
    private readonly sessions: SessionService,
    private readonly notifications: NotificationService,
    private readonly dispatcher: NotificationDispatcher,
  ) {}

  onModuleInit(): void {
    this.events.on('help.requested', (event) => this.requested(event));
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

  private async requested(event: { sessionId: string; userId: string; source: string; requestedAt: Date }) {
    const { escalation, escalateAfterMs } = this.config.notify;
    const session = await this.sessions.view(event.sessionId);
    const data = {
      sessionId: event.sessionId,
      userId: event.userId,
      source: event.source,
      reason: session.help?.reason ?? undefined,
      requestedAt: event.requestedAt.toISOString(),
    };
    const later = escalation.slice(1);
    await this.notifications.raise({
      event: 'help.requested',
      key: event.sessionId,
      sessionId: event.sessionId,
      data,
      channels: this.notifications.kinds.filter((kind) => !later.includes(kind)),
      occurredAt: event.requestedAt,
    });
    for (const [step, channel] of later.entries()) {
      await this.notifications.raise({
        event: 'help.escalated',
        key: `${event.sessionId}:${data.requestedAt}:${step + 1}`,
        once: true,
        sessionId: event.sessionId,
        data: { ...data, waitingMs: (step + 1) * escalateAfterMs },
        channels: [channel],
        occurredAt: event.requestedAt,
        dueAt: new Date(event.requestedAt.getTime() + (step + 1) * escalateAfterMs),
      });
    }
  }
}
