import { ERROR_STATUS, ErrorCode } from './error-codes';

/** A transport-free error: services throw it, the HTTP filter and socket acks map its code. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}
