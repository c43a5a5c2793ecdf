import { Injectable, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RateLimitTally } from '../coordination/rate-limit-tally';
import { NotificationService } from './notification.service';

/**
 * Admins hear when an abnormal share of requests is refused by rate limits (an attack, a client stuck in a
 * loop, limits set too low): RATE_LIMIT_ALERT_MIN_REFUSALS refusals or more within RATE_LIMIT_ALERT_WINDOW_MS,
 * making up RATE_LIMIT_ALERT_PERCENT of this replica's decisions or more. Every replica judges its own
 * traffic; the outbox keeps one notification per NOTIFY_MIN_INTERVAL_MS for the cluster.
 */
@Injectable()
export class RateLimitNotifier implements OnModuleInit {
  private raisedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly config: AppConfig,
    private readonly tally: RateLimitTally,
    private readonly notifications: NotificationService,
  ) {}

  onModuleInit(): void {
    this.tally.onRefusal(() => this.refused());
  }

  private refused(now = Date.now()): void {
    const { minIntervalMs, rateLimitAlert } = this.config.notify;
    // Raised already: a storm of refusals costs no more than counting them.
    if (now - this.raisedAt < minIntervalMs) return;
    const { percent, minRefusals, windowMs } = rateLimitAlert;
    const counts = this.tally.counts(windowMs, now);
    if (counts.refused < minRefusals || counts.refused * 100 < percent * counts.decisions) return;
    this.raisedAt = now;
    const share = Math.round((counts.refused * 100) / counts.decisions);
    const by = Object.entries(counts.refusedBy)
      .map(([limit, n]) => `${limit}: ${n}`)
      .join(', ');
    void this.notifications.raise({
      event: 'rate_limit.abnormal',
      key: 'cluster',
      data: {
        detail: `${counts.refused} of ${counts.decisions} rate-limit decisions (${share}%) refused in the last ${Math.round(windowMs / 1000)} s on one replica (${by})`,
      },
      occurredAt: new Date(now),
    });
  }
}
