import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { AdminSessionViewDto } from '../../openapi/schemas/admin-session-view.dto';

/** `GET /admin/users/:userId/sessions`: a page of sessions as the admin queue shows them. */
export class AdminSessionsPageResponseDto {
  @ApiProperty({ type: [AdminSessionViewDto] }) sessions!: AdminSessionViewDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null on the last' })
  nextCursor!: string | null;
}

/** `GET /admin/sessions`: a page of every session, filtered and sorted. */
export class AdminSessionsListResponseDto extends AdminSessionsPageResponseDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    description: 'Every match (all pages); only with `withTotal=true`',
  })
  total?: number;
}
