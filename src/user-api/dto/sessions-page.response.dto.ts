import { ApiProperty } from '@nestjs/swagger';
import { SessionViewDto } from '../../openapi/schemas/session-view.dto';

/** `GET /sessions`: a page of the user's sessions, the most recently active first. */
export class SessionsPageResponseDto {
  @ApiProperty({ type: [SessionViewDto] }) sessions!: SessionViewDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null on the last' })
  nextCursor!: string | null;
}
