import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { IsDateTime } from '../../common/validation/date-time';
import { BUCKETS, BucketUnit } from '../usage-figures';

/** `GET /admin/users/:userId/usage`: a range of at most ADMIN_METRICS_MAX_RANGE_DAYS. */
export class UsageQueryDto {
  @ApiProperty({ format: 'date-time', description: 'Start of the range, included (RFC 3339, with a time zone)' })
  @IsDateTime('from')
  from!: string;

  @ApiProperty({ format: 'date-time', description: 'End of the range, excluded (RFC 3339, with a time zone)' })
  @IsDateTime('to')
  to!: string;
}

/** `GET /admin/metrics`: the range, cut into UTC hours or days. */
export class MetricsQueryDto extends UsageQueryDto {
  @ApiPropertyOptional({ enum: BUCKETS, default: 'day', description: 'One entry per UTC hour or day' })
  @IsOptional()
  @IsIn(BUCKETS, { message: `bucket must be one of ${BUCKETS.join(', ')}` })
  bucket: BucketUnit = 'day';
}
