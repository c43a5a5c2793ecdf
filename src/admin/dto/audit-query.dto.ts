import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { IsDateTime } from '../../common/validation/date-time';

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
  @IsDateTime('from')
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Records before this time' })
  @IsOptional()
  @IsDateTime('to')
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
