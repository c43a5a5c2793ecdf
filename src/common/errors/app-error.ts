import { ErrorCode, ERRORS } from './error-codes';

/** A transport-free error: services throw it, the HTTP filter and socket acks map its code through ERRORS. */
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
    return ERRORS[this.code].status;
  }

  get recoverable(): boolean {
    return ERRORS[this.code].recoverable;
  }
}
