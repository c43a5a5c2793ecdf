import { ProtocolError } from '../realtime/client-events';
import { AppError } from './app-error';

/** What a client is told about an error, in acks and `ai:error`: the code's row of ERRORS, never a stack. */
export function toProtocolError(error: unknown): ProtocolError {
  if (error instanceof AppError) {
    const retryAfterMs = error.details?.retryAfterMs;
    const holder = error.details?.holder as ProtocolError['holder'];
    return {
      code: error.code,
      message: error.message,
      recoverable: error.recoverable,
      ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}),
      ...(holder ? { holder } : {}),
    };
  }
  return { code: 'internal_error', message: 'Internal error', recoverable: true };
}
