import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ERRORS, ErrorCode } from '../common/errors/error-codes';
import { ErrorResponseDto } from './error-response.dto';

/** Documents the errors a route answers, grouped by HTTP status, each with the ErrorResponse shape. */
export function ApiErrors(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERRORS[code].status, [...(byStatus.get(ERRORS[code].status) ?? []), code]);
  return applyDecorators(
    ...[...byStatus].map(([status, grouped]) =>
      ApiResponse({ status, description: grouped.map((c) => `\`${c}\``).join(', '), type: ErrorResponseDto }),
    ),
  );
}
