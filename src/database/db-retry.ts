import { setTimeout as sleep } from 'node:timers/promises';

// Server answers that mean "not now, try again": elections, shutdowns, a primary stepping down.
const TRANSIENT_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);
const TRANSIENT_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNotConnectedError',
  'MongoPoolClearedError',
]);

/**
 * A socket error the driver lets through unwrapped: mongodb 7 rethrows what a write that waited for `drain`
 * got (EPIPE from a server that closed the connection, as a restarting one does) as the socket's own error.
 */
const SOCKET_CODES = new Set(['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT']);

/**
 * Whether a database error says nothing about the write itself and a retry can succeed: a dropped
 * connection (wrapped by the driver or not), an election, or an embedded SQLite server that is momentarily
 * locked (SQLITE_BUSY).
 */
export function isTransientDbError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code } = error as { code?: unknown };
  const labelled = (error as { hasErrorLabel?: (label: string) => boolean }).hasErrorLabel;
  return (
    TRANSIENT_NAMES.has(error.name) ||
    (typeof code === 'number' && TRANSIENT_CODES.has(code)) ||
    (typeof code === 'string' && SOCKET_CODES.has(code)) ||
    (typeof labelled === 'function' && labelled.call(error, 'RetryableWriteError')) ||
    /SQLITE_BUSY|database is locked|buffering timed out/i.test(error.message)
  );
}

export interface DbRetryOptions {
  /** No attempt starts after this time (epoch ms); the last error is thrown then. */
  deadline: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  /** Told of each failure that will be retried. */
  onRetry?: (error: unknown, attempt: number) => void;
}

/**
 * Runs an idempotent database operation, retrying transient failures with jittered exponential
 * backoff until the deadline. Anything else is thrown at once.
 */
export async function withDbRetry<T>(operation: () => Promise<T>, options: DbRetryOptions): Promise<T> {
  const { deadline, baseDelayMs = 25, maxDelayMs = 1000, signal, onRetry } = options;
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const wait = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt) * (0.5 + Math.random());
      if (!isTransientDbError(error) || Date.now() + wait >= deadline) throw error;
      onRetry?.(error, attempt);
      await sleep(wait, undefined, signal ? { signal } : undefined);
    }
  }
}
