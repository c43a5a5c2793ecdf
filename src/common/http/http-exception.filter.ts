import { randomUUID } from 'node:crypto';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AppError } from '../errors/app-error';
import { codeForStatus, ErrorCode } from '../errors/error-codes';

export interface ErrorBody {
  statusCode: number;
  code: ErrorCode;
  message: string;
  errorId?: string;
  details?: Record<string, unknown>;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : undefined;
}

function messageOf(exception: HttpException): string {
  const response = exception.getResponse();
  const message = typeof response === 'object' ? (response as { message?: unknown }).message : response;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : exception.message;
}

/** Maps every error to `{ statusCode, code, message }`; unknown errors become a logged 500 with an errorId. */
export function toErrorBody(error: unknown, logger: Logger): ErrorBody {
  if (error instanceof AppError) {
    return { statusCode: error.status, code: error.code, message: error.message, details: error.details };
  }
  if (error instanceof HttpException) {
    const statusCode = error.getStatus();
    return { statusCode, code: codeForStatus(statusCode), message: messageOf(error) };
  }
  // Fastify's own errors (body too large, bad JSON, wrong media type) carry a 4xx statusCode.
  const status = statusOf(error);
  if (status !== undefined && status < 500) {
    return { statusCode: status, code: codeForStatus(status), message: (error as Error).message };
  }
  const errorId = randomUUID();
  logger.error({ err: error, errorId }, 'unhandled error');
  return { statusCode: 500, code: 'internal_error', message: 'Internal server error', errorId };
}

@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpExceptionFilter.name);

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const body = toErrorBody(exception, this.logger);
    this.adapterHost.httpAdapter.reply(host.switchToHttp().getResponse(), body, body.statusCode);
  }
}
