import { AppError } from '../common/errors/app-error';
import { ProtocolError } from '../common/realtime/client-events';

export type Ack<T> = { ok: true; data: T } | { ok: false; error: ProtocolError };

const NOT_RECOVERABLE = new Set(['invalid_payload', 'forbidden', 'not_found', 'session_ended', 'unauthorized']);

export function toProtocolError(error: unknown): ProtocolError {
  if (error instanceof AppError) {
    const retryAfterMs = error.details?.retryAfterMs as number | undefined;
    return {
      code: error.code,
      message: error.message,
      recoverable: !NOT_RECOVERABLE.has(error.code),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  return { code: 'internal_error', message: 'Internal error', recoverable: true };
}
