import { ApiProperty } from '@nestjs/swagger';
import { SessionViewDto } from '../../openapi/schemas/session-view.dto';
import { TranscriptPageDto } from '../../openapi/schemas/transcript-page.dto';
import type { ResumeResult } from '../../router/message-router.service';
import type { InFlightReply } from '../../turn/turn-engine.service';

class InFlightReplyDto implements InFlightReply {
  @ApiProperty({ type: String, format: 'uuid', description: 'The reply being written' }) messageId!: string;
  @ApiProperty({ type: String, format: 'uuid', description: 'The user message it answers' }) replyTo!: string;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Index of the last frame in `text`: render `text`, then only deltas above it',
  })
  index!: number | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'What was said so far; null (with `index`) when it cannot be told here',
  })
  text!: string | null;
}

/** `GET /sessions/:id`: the session, its newest page of messages and the reply in flight. */
export class SessionDetailResponseDto extends TranscriptPageDto implements ResumeResult {
  @ApiProperty({ type: () => SessionViewDto }) session!: SessionViewDto;
  @ApiProperty({ type: () => InFlightReplyDto, nullable: true, description: 'The reply streaming now, or null' })
  inFlight!: InFlightReplyDto | null;
}
