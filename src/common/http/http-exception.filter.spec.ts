import { BadRequestException, Logger, NotFoundException } from '@nestjs/common';
import { AppError } from '../errors/app-error';
import { toErrorBody } from './http-exception.filter';

describe('toErrorBody', () => {
  const logged: unknown[] = [];
  const logger = { error: (...args: unknown[]) => logged.push(args) } as unknown as Logger;

  beforeEach(() => (logged.length = 0));

  it('maps an AppError to its code and status with details', () => {
    expect(toErrorBody(new AppError('not_ready', 'Not ready', { checks: {} }), logger)).toEqual({
      statusCode: 503,
      code: 'not_ready',
      message: 'Not ready',
      details: { checks: {} },
    });
  });

  it('maps Nest HTTP exceptions by status and joins validation messages', () => {
    expect(toErrorBody(new NotFoundException('Cannot GET /x'), logger)).toEqual({
      statusCode: 404,
      code: 'not_found',
      message: 'Cannot GET /x',
    });
    expect(toErrorBody(new BadRequestException(['a is wrong', 'b is wrong']), logger)).toMatchObject({
      code: 'invalid_payload',
      message: 'a is wrong; b is wrong',
    });
  });

  it('maps Fastify parser errors such as an oversized body by their status', () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), {
      statusCode: 413,
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
    });
    expect(toErrorBody(tooLarge, logger)).toEqual({
      statusCode: 413,
      code: 'payload_too_large',
      message: 'Request body is too large',
    });
  });

  it('hides unknown errors behind a 500 with an errorId that is logged with the error', () => {
    const error = new Error('database password is hunter2');
    const body = toErrorBody(error, logger);
    expect(body).toEqual({
      statusCode: 500,
      code: 'internal_error',
      message: 'Internal server error',
      errorId: expect.stringMatching(/^[0-9a-f-]{36}$/) as string,
    });
    expect(JSON.stringify(body)).not.toContain('hunter2');
    expect(logged).toEqual([[{ err: error, errorId: body.errorId }, 'unhandled error']]);
  });
});
