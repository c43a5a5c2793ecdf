import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** A page of a transcript read backwards: the newest messages before `beforeSeq` (from the newest when absent). */
export class MessagesPageQueryDto {
  @ApiPropertyOptional({ minimum: 1, description: 'Messages before this seq (the newest when absent).' })
  @IsOptional()
  @Type(() => Number)
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  @IsInt()
  beforeSeq?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 200 })
  @IsOptional()
  @Type(() => Number)
  @Min(1)
  @Max(200)
  @IsInt()
  limit = 200;
}
