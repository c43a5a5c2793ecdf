import { ApiProperty } from '@nestjs/swagger';
import type { HelpSource, SessionOwner, SessionStatus } from '../../session/schemas/session.schema';
import type { HelpView, HolderView, SessionView } from '../../session/session-views';

// The session views as the OpenAPI document shows them; `implements` keeps them in step with session-views.ts.

export const SESSION_STATUSES: SessionStatus[] = ['active', 'ended'];
const HELP_SOURCES: HelpSource[] = ['user', 'ai'];
/** `ai`, or `admin:<id>` while an administrator holds the session. */
export const OWNER_PATTERN = '^(ai|admin:.+)$';

export class HolderViewDto implements HolderView {
  @ApiProperty({ type: String, description: "The administrator's user id" }) id!: string;
  @ApiProperty({ type: String, nullable: true, description: "The administrator's name, when the token carried one" })
  name!: string | null;
}

export class HelpViewDto implements HelpView {
  @ApiProperty({ type: String, format: 'date-time' }) requestedAt!: string;
  @ApiProperty({ enum: HELP_SOURCES, description: 'The user, or the AI model on their behalf' }) source!: HelpSource;
  @ApiProperty({ type: String, nullable: true, description: 'Null when none was given or it cannot be decrypted' })
  reason!: string | null;
}

/** A session as its user sees it. */
export class SessionViewDto implements SessionView {
  @ApiProperty({ type: String, format: 'uuid' }) id!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'From the first user message; null until then or when it cannot be decrypted',
  })
  name!: string | null;
  @ApiProperty({ enum: SESSION_STATUSES }) status!: SessionStatus;
  @ApiProperty({ type: String }) modelId!: string;
  @ApiProperty({ type: String, pattern: OWNER_PATTERN, example: 'ai', description: '`ai`, or `admin:<id>` while held' })
  owner!: SessionOwner;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Grows on every change of owner' })
  epoch!: number;
  @ApiProperty({ type: String, format: 'date-time' }) startedAt!: string;
  @ApiProperty({ type: String, format: 'date-time' }) lastActivityAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastMessageAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) endedAt!: string | null;
  @ApiProperty({ type: 'integer', minimum: 0 }) messageCount!: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'The seq of the newest message (0: none)' })
  lastSeq!: number;
  @ApiProperty({ type: Boolean, description: 'An administrator has held the session' }) assisted!: boolean;
  @ApiProperty({
    type: () => HolderViewDto,
    nullable: true,
    description: 'The administrator answering instead of the AI, or null',
  })
  holder!: HolderViewDto | null;
  @ApiProperty({ type: () => HelpViewDto, nullable: true, description: 'The open request for a human, or null' })
  help!: HelpViewDto | null;
}
