import { ApiProperty } from '@nestjs/swagger';
import type { SessionOwner, SessionStatus } from '../../session/schemas/session.schema';
import type { AdminSessionView } from '../../session/session-views';
import { HelpViewDto, HolderViewDto, OWNER_PATTERN, SESSION_STATUSES } from './session-view.dto';

/** A session as the admin queue shows it; `implements` keeps it in step with session-views.ts. */
export class AdminSessionViewDto implements AdminSessionView {
  @ApiProperty({ type: String, format: 'uuid' }) id!: string;
  @ApiProperty({ type: String }) userId!: string;
  @ApiProperty({ type: String, nullable: true, description: "The user's name, when their token carried one" })
  userName!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'Null until the first user message names the session' })
  name!: string | null;
  @ApiProperty({ enum: SESSION_STATUSES }) status!: SessionStatus;
  @ApiProperty({ type: String, pattern: OWNER_PATTERN, example: 'ai', description: '`ai`, or `admin:<id>` while held' })
  owner!: SessionOwner;
  @ApiProperty({ type: 'integer', minimum: 0 }) epoch!: number;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'Grows with every change admins are told of: of two views of a session, the higher is newer',
  })
  rev!: number;
  @ApiProperty({ type: String }) modelId!: string;
  @ApiProperty({ type: String, format: 'date-time' }) startedAt!: string;
  @ApiProperty({ type: String, format: 'date-time' }) lastActivityAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) endedAt!: string | null;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'From start to end; 0 while the session is active' })
  durationMs!: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) messageCount!: number;
  @ApiProperty({ type: Number, minimum: 0, description: 'Prompt and completion tokens of every AI reply' })
  totalTokens!: number;
  @ApiProperty({ type: Boolean, description: 'An administrator has held the session' }) assisted!: boolean;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'How many times a human was asked for' })
  helpRequests!: number;
  @ApiProperty({ type: () => HolderViewDto, nullable: true, description: 'The administrator holding it, or null' })
  holder!: HolderViewDto | null;
  @ApiProperty({
    type: () => HelpViewDto,
    nullable: true,
    description: 'The open help request (its `requestedAt` says how long the user has waited), or null',
  })
  help!: HelpViewDto | null;
}
