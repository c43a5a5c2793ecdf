import { CallHandler, ExecutionContext, Inject, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { randomUUID } from 'node:crypto';
import { catchError, from, map, Observable, of, switchMap } from 'rxjs';
import type { Socket } from 'socket.io';
import { SocketData } from '../auth/socket-auth.middleware';
import { AppError } from '../common/errors/app-error';
import { AppConfig } from '../config/app-config';
import { EVENTS_THROTTLER } from '../coordination/coordination.module';
import { toProtocolError } from '../common/errors/protocol-error';
import { Ack } from './ack';

/**
 * Every client event: rate-limited per user across replicas, then answered `{ ok: true, data }` or
 * `{ ok: false, error }`. Nothing a handler throws reaches the transport.
 */
@Injectable()
export class AckInterceptor implements NestInterceptor {
  private readonly logger = new Logger(AckInterceptor.name);

  constructor(
    private readonly config: AppConfig,
    @Inject(ThrottlerStorage) private readonly throttler: ThrottlerStorage,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<Ack<unknown>> {
    const socket = context.switchToWs().getClient<Socket>();
    const { principal } = socket.data as SocketData;
    const { events, windowMs } = this.config.chat.rateLimit;
    const key = `${EVENTS_THROTTLER}:${principal.userId}`;
    return from(this.throttler.increment(key, windowMs, events, windowMs, EVENTS_THROTTLER)).pipe(
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
          this.logger.error({ err: error, errorId, event: context.getHandler().name }, 'socket handler failed');
        }
        return of<Ack<unknown>>({ ok: false, error: toProtocolError(error) });
      }),
    );
  }
}
