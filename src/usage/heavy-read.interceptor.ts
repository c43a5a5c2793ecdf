import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { finalize, Observable } from 'rxjs';
import { AppError } from '../common/errors/app-error';
import { HeavyReadLimiter } from './heavy-read-limiter.service';

const RETRY_AFTER_S = 1;

/**
 * Runs a heavy admin read in one of the replica's slots, held until its answer is ready (or it fails), or
 * refuses it at once with 429 `too_many_requests` and `Retry-After: 1` when all are taken: refused, not
 * queued, so a burst cannot pile reads up. Interceptors run after guards: a request the admin guard
 * refuses takes no slot, and every request still counts in the admin rate budget.
 */
@Injectable()
export class HeavyReadInterceptor implements NestInterceptor {
  constructor(private readonly limiter: HeavyReadLimiter) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const release = this.limiter.tryAcquire();
    if (!release) {
      context.switchToHttp().getResponse<FastifyReply>().header('retry-after', String(RETRY_AFTER_S));
      throw new AppError(
        'too_many_requests',
        `This replica already runs ${this.limiter.max} usage reads (ADMIN_HEAVY_READS_MAX); retry in a second`,
        { retryAfterMs: RETRY_AFTER_S * 1000 },
      );
    }
    return next.handle().pipe(finalize(release));
  }
}
