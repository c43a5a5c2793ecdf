import { ApiProperty } from '@nestjs/swagger';
import type { TranscriptPage } from '../../session/session-views';
import { MessageViewDto } from './message-view.dto';

/** One page of a transcript, in seq order. */
export class TranscriptPageDto implements TranscriptPage {
  @ApiProperty({ type: [MessageViewDto] }) messages!: MessageViewDto[];
  @ApiProperty({ type: Boolean, description: 'More messages exist beyond the page, in the direction it was read' })
  hasMore!: boolean;
}
