import { ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import type { FastifyReply } from 'fastify';
import { AppError } from '../common/errors/app-error';
import { AppConfig } from '../config/app-config';
import { RATE_LIMIT_UNCOUNTED } from '../metrics/chatbox.metrics';
import { AuthenticatedRequest, HttpAuthGuard } from './http-auth.guard';
import { JwtVerifier } from './jwt-verifier.service';

const WINDOW_MS = 60_000;
/** An outage of the throttler storage is logged at most this often; the metric counts every request. */
const OUTAGE_LOG_INTERVAL_MS = 60_000;

/**
 * A bearer token with an admin role (`forbidden` for any other valid token), within the administrator's
 * request budget: counted per token subject in the shared throttler storage, so neither a forged address
 * nor spreading requests over replicas gets more.
 */
@Injectable()
export class AdminAuthGuard extends HttpAuthGuard {
  private readonly logger = new Logger(AdminAuthGuard.name);
  private outageLoggedAt = -Infinity;

  constructor(
    verifier: JwtVerifier,
    private readonly config: AppConfig,
    @Inject(ThrottlerStorage) private readonly throttler: ThrottlerStorage,
    @InjectMetric(RATE_LIMIT_UNCOUNTED) private readonly uncounted: Counter<string>,
  ) {
    super(verifier);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    await super.canActivate(context);
    const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
    if (!principal?.isAdmin) throw new AppError('forbidden', 'An admin role is required');
    const limit = this.config.http.adminRateLimitPerMinute;
    const record = await this.throttler
      .increment(`admin-http:${principal.userId}`, WINDOW_MS, limit, WINDOW_MS, 'admin')
      .catch((error: unknown) => this.letThroughUncounted(error));
    if (record?.isBlocked) {
      const { timeToBlockExpire } = record;
      context.switchToHttp().getResponse<FastifyReply>().header('retry-after', String(timeToBlockExpire));
      throw new AppError('rate_limited', `More than ${limit} admin requests in a minute; slow down`, {
        retryAfterMs: timeToBlockExpire * 1000,
      });
    }
    return true;
  }

  // As the connection limits do: without the shared store (Redis down) the request goes through, since
  // readiness reports the outage and refusing every administrator would be worse.
  private letThroughUncounted(error: unknown): void {
    this.uncounted.inc({ limit: 'admin' });
    const now = Date.now();
    if (now - this.outageLoggedAt < OUTAGE_LOG_INTERVAL_MS) return;
    this.outageLoggedAt = now;
    this.logger.warn({ err: error }, 'could not count an admin request; letting it through (logged once a minute)');
  }
}
