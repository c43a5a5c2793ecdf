import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { MessageStatus, Sender } from '../../session/schemas/message.schema';
import type { FileRef, MessageView, Transcript } from '../../session/session-views';

// A stored message as the OpenAPI document shows it; `implements` keeps it in step with session-views.ts.

export const SENDERS: Sender[] = ['user', 'ai', 'admin', 'system'];
const MESSAGE_STATUSES: (MessageStatus | 'unreadable')[] = [
  'complete',
  'stopped',
  'interrupted',
  'failed',
  'unreadable',
];

class MessageUsageDto {
  @ApiProperty({ type: Number, minimum: 0 }) promptTokens!: number;
  @ApiProperty({ type: Number, minimum: 0 }) completionTokens!: number;
  @ApiProperty({ type: Boolean, description: 'The provider reported no usage, so the counts are estimated' })
  estimated!: boolean;
}

class MessageErrorDto {
  @ApiProperty({ type: String }) code!: string;
  @ApiProperty({ type: String }) message!: string;
  @ApiProperty({ type: Boolean }) recoverable!: boolean;
}

class TranscriptDto {
  @ApiProperty({
    enum: ['done', 'unavailable', 'failed'],
    description: '`unavailable`: no TRANSCRIPTION_MODEL is configured; `failed`: the transcription failed',
  })
  status!: Transcript['status'];
  @ApiPropertyOptional({ type: String, description: '`done` only: what the voice note says' }) text?: string;
}

class FileRefDto implements FileRef {
  @ApiProperty({ type: String, format: 'uuid' }) id!: string;
  @ApiProperty({ type: String }) name!: string;
  @ApiProperty({ type: String, description: 'The media type read from the content' }) type!: string;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Bytes' }) size!: number;
  @ApiPropertyOptional({
    type: () => TranscriptDto,
    description: 'Voice notes (audio files) only, once the AI turn answering their message transcribed them',
  })
  transcript?: Transcript;
}

export class MessageViewDto implements MessageView {
  @ApiProperty({ type: String, format: 'uuid' }) id!: string;
  @ApiProperty({ type: 'integer', minimum: 1, description: 'Its place in the session, from 1' }) seq!: number;
  @ApiProperty({ type: String, format: 'uuid' }) sessionId!: string;
  @ApiProperty({ enum: SENDERS }) sender!: Sender;
  @ApiPropertyOptional({ type: String }) senderId?: string;
  @ApiPropertyOptional({ type: String }) senderName?: string;
  @ApiProperty({ type: String, description: 'Empty when the stored value cannot be decrypted (`unreadable`)' })
  content!: string;
  @ApiProperty({
    type: [FileRefDto],
    description: 'Files the message carries (metadata only; download through GET /files/{id})',
  })
  files!: FileRefDto[];
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: string;
  @ApiProperty({ enum: MESSAGE_STATUSES }) status!: MessageStatus | 'unreadable';
  @ApiPropertyOptional({ type: String, format: 'uuid', description: 'AI replies: the user message answered' })
  replyTo?: string;
  @ApiPropertyOptional({ type: 'integer', minimum: 1, description: "AI replies: that message's seq" })
  replyToSeq?: number;
  @ApiPropertyOptional({ type: String, description: 'AI replies: the model that wrote it' }) model?: string;
  @ApiPropertyOptional({ type: () => MessageUsageDto }) usage?: MessageUsageDto;
  @ApiPropertyOptional({ type: String }) finishReason?: string;
  @ApiPropertyOptional({
    type: () => MessageErrorDto,
    description: 'For a reply that did not end well: what its `ai:error` said',
  })
  error?: MessageErrorDto;
}
