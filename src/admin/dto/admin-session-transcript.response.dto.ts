import { ApiProperty } from '@nestjs/swagger';
import { AdminSessionViewDto } from '../../openapi/schemas/admin-session-view.dto';
import { TranscriptPageDto } from '../../openapi/schemas/transcript-page.dto';

/** `GET /admin/sessions/:id`: the session as the admin queue shows it, with a page of its transcript. */
export class AdminSessionTranscriptResponseDto extends TranscriptPageDto {
  @ApiProperty({ type: () => AdminSessionViewDto }) session!: AdminSessionViewDto;
}
