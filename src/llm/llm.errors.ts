import { AppError } from '../common/errors/app-error';
import { ErrorCode } from '../common/errors/error-codes';

export type LlmErrorCode = Extract<
  ErrorCode,
  'rate_limited' | 'unavailable' | 'timeout' | 'bad_request' | 'auth' | 'content_filter'
>;

/**
 * A provider failure, classified by what to do about it rather than by vendor wording. Its code is a
 * row of the one error table, so `ai:error` shows the same code, status and recoverability as any ack.
 */
export class LlmError extends AppError {
  override name = 'LlmError';

  constructor(
    override readonly code: LlmErrorCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(code, message, retryAfterMs !== undefined ? { retryAfterMs } : undefined);
  }

  /** Worth another attempt (the same or a fallback model): exactly the recoverable codes. */
  get retryable(): boolean {
    return this.recoverable;
  }
}

/** The classification of an HTTP status from a vendor API. */
export function errorForStatus(status: number, message: string, retryAfterMs?: number): LlmError {
  if (status === 429) return new LlmError('rate_limited', message, retryAfterMs);
  if (status === 401 || status === 403) return new LlmError('auth', message);
  if (status === 408 || status === 504) return new LlmError('timeout', message);
  if (status >= 500) return new LlmError('unavailable', message, retryAfterMs);
  return new LlmError('bad_request', message);
}

/** Retry-After as seconds or an HTTP date, in milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
