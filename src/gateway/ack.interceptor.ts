import { CallHandler, ExecutionContext, Inject, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ThrottlerStorage } from '@nestjs/throttler';
import { randomUUID } from 'node:crypto';
import { catchError, from, map, Observable, of, switchMap } from 'rxjs';
import type { Socket } from 'socket.io';
import { SocketData } from '../auth/socket-auth.middleware';
import { AppError } from '../common/errors/app-error';
import { toProtocolError } from '../common/errors/protocol-error';
import { AppConfig } from '../config/app-config';
import { EVENTS_THROTTLER } from '../coordination/coordination.module';
import { Ack } from './ack';
import { RATE_BUDGET, RateBudgetName } from './rate-budget.decorator';

/**
 * Every client event: rate-limited per user across replicas (on the handler's budget), then answered
 * `{ ok: true, data }` or `{ ok: false, error }`. Nothing a handler throws reaches the transport.
 */
@Injectable()
export class AckInterceptor implements NestInterceptor {
  private readonly logger = new Logger(AckInterceptor.name);

  constructor(
    private readonly config: AppConfig,
    private readonly reflector: Reflector,
    @Inject(ThrottlerStorage) private readonly throttler: ThrottlerStorage,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<Ack<unknown>> {
    const socket = context.switchToWs().getClient<Socket>();
    const { principal } = socket.data as SocketData;
    const budget = this.reflector.get<RateBudgetName | undefined>(RATE_BUDGET, context.getHandler()) ?? 'events';
    const { events, typingEvents, windowMs } = this.config.chat.rateLimit;
    const limit = budget === 'typing' ? typingEvents : events;
    const key = `${EVENTS_THROTTLER}:${budget}:${principal.userId}`;
    return from(this.throttler.increment(key, windowMs, limit, windowMs, EVENTS_THROTTLER)).pipe(
      switchMap(({ isBlocked, timeToBlockExpire }) => {
        if (isBlocked) {
          throw new AppError('rate_limited', 'Too many events; slow down', { retryAfterMs: timeToBlockExpire * 1000 });
        }
        return next.handle();
      }),
      map((data: unknown): Ack<unknown> => ({ ok: true, data: data ?? {} })),
      catchError((error: unknown) => {
        if (!(error instanceof AppError)) {
          const errorId = randomUUID();
          const data = context.switchToWs().getData<{ sessionId?: unknown } | null>();
          const sessionId = typeof data?.sessionId === 'string' ? data.sessionId.slice(0, 64) : undefined;
          this.logger.error(
            { err: error, errorId, event: context.getHandler().name, userId: principal.userId, sessionId },
            'socket handler failed',
          );
        }
        return of<Ack<unknown>>({ ok: false, error: toProtocolError(error) });
      }),
    );
  }
}
