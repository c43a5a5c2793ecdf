import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ERRORS, ErrorCode } from '../common/errors/error-codes';
import type { ErrorBody } from '../common/http/http-exception.filter';

/** What every REST error answers (the HTTP filter's `ErrorBody`), as the OpenAPI document shows it. */
export class ErrorResponseDto implements ErrorBody {
  @ApiProperty({ example: 400 }) statusCode!: number;
  @ApiProperty({ enum: Object.keys(ERRORS), example: 'invalid_payload' }) code!: ErrorCode;
  @ApiProperty({ example: 'limit must not be greater than 100' }) message!: string;
  @ApiPropertyOptional({ description: 'For a 500: quote it to the operators, who find it in the logs.' })
  errorId?: string;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Facts of some errors: `retryAfterMs` for rate_limited and too_many_requests, `checks` for not_ready.',
  })
  details?: Record<string, unknown>;
}
