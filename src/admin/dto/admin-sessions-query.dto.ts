import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { CodePointLength } from '../../common/validation/code-point-length.decorator';
import { IsDateTime } from '../../common/validation/date-time';
import { NAME_QUERY_MAX, NAME_QUERY_MIN } from '../../session/session-name-index';
import { ADMIN_SORTS, AdminSort } from '../../session/session.service';

/** `GET /admin/sessions`: filters (all optional, combined with AND), the order and the page. */
export class AdminSessionsQueryDto {
  @ApiPropertyOptional({ maxLength: 128, description: "The user's id (`sub` of the host application's token)" })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  @Matches(/^\S+$/, { message: 'userId must not be blank or hold spaces' })
  userId?: string;

  @ApiPropertyOptional({ enum: ['active', 'ended'] })
  @IsOptional()
  @IsIn(['active', 'ended'])
  status?: 'active' | 'ended';

  @ApiPropertyOptional({
    description: '`ai`, `admin` (held by any administrator) or `admin:<id>` (held by that one)',
    example: 'admin',
  })
  @IsOptional()
  @IsString()
  @Matches(/^(ai|admin|admin:\S{1,128})$/, { message: 'owner must be ai, admin or admin:<id>' })
  owner?: 'ai' | 'admin' | `admin:${string}`;

  @ApiPropertyOptional({ enum: ['true', 'false'], description: 'An administrator has held the session' })
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'assisted must be true or false' })
  assisted?: 'true' | 'false';

  @ApiPropertyOptional({ enum: ['true', 'false'], description: 'A human was asked for at least once' })
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'helpRequested must be true or false' })
  helpRequested?: 'true' | 'false';

  @ApiPropertyOptional({ maxLength: 64, description: "The session's current model" })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9._:-]{1,64}$/, { message: 'modelId must be a model id' })
  modelId?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Sessions started at or after this time' })
  @IsOptional()
  @IsDateTime('from')
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Sessions started before this time' })
  @IsOptional()
  @IsDateTime('to')
  to?: string;

  @ApiPropertyOptional({
    minLength: NAME_QUERY_MIN,
    maxLength: NAME_QUERY_MAX,
    description: "The start of the session's name, any case (names are encrypted; a blind index finds them)",
  })
  @IsOptional()
  @IsString()
  // Counted in code points, as the blind index counts a name's characters.
  @CodePointLength(NAME_QUERY_MIN, NAME_QUERY_MAX)
  q?: string;

  @ApiPropertyOptional({ enum: ADMIN_SORTS, default: 'lastActivityAt' })
  @IsOptional()
  @IsIn(ADMIN_SORTS)
  sort: AdminSort = 'lastActivityAt';

  @ApiPropertyOptional({ enum: ['asc', 'desc'], default: 'desc' })
  @IsOptional()
  @IsIn(['asc', 'desc'])
  order: 'asc' | 'desc' = 'desc';

  @ApiPropertyOptional({ maxLength: 1024, description: 'The `nextCursor` of the previous page (same sort and order)' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit = 20;

  @ApiPropertyOptional({ enum: ['true', 'false'], default: 'false', description: 'Count every match (`total`)' })
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'withTotal must be true or false' })
  withTotal?: 'true' | 'false';
}
