import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { AppError } from '../common/errors/app-error';
import { AppConfig } from '../config/app-config';
import { AuthenticatedRequest, HttpAuthGuard } from './http-auth.guard';
import { JwtVerifier } from './jwt-verifier.service';

const WINDOW_MS = 60_000;

/**
 * A bearer token with an admin role (`forbidden` for any other valid token), within the administrator's
 * request budget: counted per token subject in the shared throttler storage, so neither a forged address
 * nor spreading requests over replicas gets more.
 */
@Injectable()
export class AdminAuthGuard extends HttpAuthGuard {
  constructor(
    verifier: JwtVerifier,
    private readonly config: AppConfig,
    @Inject(ThrottlerStorage) private readonly throttler: ThrottlerStorage,
  ) {
    super(verifier);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    await super.canActivate(context);
    const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
    if (!principal?.isAdmin) throw new AppError('forbidden', 'An admin role is required');
    const limit = this.config.http.adminRateLimitPerMinute;
    const record = await this.throttler.increment(
      `admin-http:${principal.userId}`,
      WINDOW_MS,
      limit,
      WINDOW_MS,
      'admin',
    );
    if (record.isBlocked) {
      const { timeToBlockExpire } = record;
      context.switchToHttp().getResponse<FastifyReply>().header('retry-after', String(timeToBlockExpire));
      throw new AppError('rate_limited', `More than ${limit} admin requests in a minute; slow down`, {
        retryAfterMs: timeToBlockExpire * 1000,
      });
    }
    return true;
  }
}
