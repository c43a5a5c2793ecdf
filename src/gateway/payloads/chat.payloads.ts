import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { carriesFiles, IsNotBlank, IsNotBlankOrEmptyIf } from '../../common/validation/not-blank.decorator';
import { OptionalField } from '../../common/validation/optional-field.decorator';
import { IsWellFormed } from '../../common/validation/well-formed.decorator';

// Transport limits; the configured message length is enforced by the router.
const ID = /^[A-Za-z0-9._:-]+$/;

export class StartSessionPayload {
  @OptionalField() @IsString() @Length(1, 64) @Matches(ID) modelId?: string;
}

export class SessionRefPayload {
  @IsUUID() sessionId!: string;
}

export class ResumeSessionPayload extends SessionRefPayload {
  @OptionalField() @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) afterSeq?: number;
  @OptionalField() @IsInt() @Min(1) @Max(200) limit?: number;
}

export class StopMessagePayload extends SessionRefPayload {
  /** The reply to stop; absent: whichever reply is running. */
  @OptionalField() @IsUUID() messageId?: string;
}

export class SendMessagePayload extends SessionRefPayload {
  @IsString() @Length(1, 64) @Matches(ID) clientMessageId!: string;
  /** '' for files alone (a voice note, a photo). */
  @IsString()
  @MaxLength(100000)
  @IsWellFormed()
  @IsNotBlankOrEmptyIf(carriesFiles)
  content!: string;
  @OptionalField()
  @IsArray()
  @ArrayMaxSize(10)
  @IsUUID('all', { each: true })
  fileIds?: string[];
}

export class SelectModelPayload extends SessionRefPayload {
  @IsString() @Length(1, 64) @Matches(ID) modelId!: string;
}

export class TypingPayload extends SessionRefPayload {
  @IsBoolean() isTyping!: boolean;
}

export class HelpRequestPayload {
  /** Absent: the user's active session, started if there is none. */
  @OptionalField() @IsUUID() sessionId?: string;
  @OptionalField() @IsString() @MaxLength(500) @IsWellFormed() @IsNotBlank() reason?: string;
}

export class AuthRefreshPayload {
  @IsString() @Length(1, 8192) token!: string;
}
