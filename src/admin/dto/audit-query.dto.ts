import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';

/** RFC 3339: a date, a time and a time zone, nothing left to the server's own zone. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;
const dateTime = (name: string) =>
  Matches(DATE_TIME, {
    message: `${name} must be an RFC 3339 date-time with a time zone, such as 2026-11-30T10:00:00Z`,
  });

/** `GET /admin/audit`: filters, all optional, and the page. */
export class AuditQueryDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  sessionId?: string;

  @ApiPropertyOptional({ maxLength: 128, description: "The actor's id (an administrator's user id, or `system`)" })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  actor?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Records at or after this time' })
  @IsOptional()
  @dateTime('from')
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Records before this time' })
  @IsOptional()
  @dateTime('to')
  to?: string;

  @ApiPropertyOptional({ minimum: 1, description: 'The `nextBefore` of the previous page' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  before?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit = 50;
}
