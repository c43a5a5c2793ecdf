import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SENDERS } from '../../openapi/schemas/message-view.dto';
import { SESSION_STATUSES } from '../../openapi/schemas/session-view.dto';
import type { Sender } from '../../session/schemas/message.schema';
import type { SessionStatus } from '../../session/schemas/session.schema';

// What anyone with the link sees (ShareService.view): the conversation's text, no ids, files or internal fields.

class SharedSessionInfoDto {
  @ApiProperty({ type: String, nullable: true }) name!: string | null;
  @ApiProperty({ enum: SESSION_STATUSES }) status!: SessionStatus;
  @ApiProperty({ type: String, format: 'date-time' }) startedAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) endedAt!: string | null;
}

class SharedMessageDto {
  @ApiProperty({ type: 'integer', minimum: 1 }) seq!: number;
  @ApiProperty({ enum: SENDERS }) sender!: Sender;
  @ApiPropertyOptional({ type: String, description: "Never for the user's own messages" }) senderName?: string;
  @ApiProperty({ type: String }) content!: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: string;
  @ApiPropertyOptional({ type: 'integer', minimum: 1, description: 'AI replies: the seq of the message answered' })
  replyToSeq?: number;
}

/** `GET /shared/:token`: a page of a shared conversation, in seq order. */
export class SharedSessionResponseDto {
  @ApiProperty({ type: () => SharedSessionInfoDto }) session!: SharedSessionInfoDto;
  @ApiProperty({ type: [SharedMessageDto] }) messages!: SharedMessageDto[];
  @ApiProperty({
    type: Boolean,
    description: 'Older messages exist: ask again with `beforeSeq` set to the first seq of this page',
  })
  hasMore!: boolean;
}
