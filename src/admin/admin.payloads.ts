import { ArrayMaxSize, IsArray, IsBoolean, IsString, IsUUID, Length, Matches, MaxLength } from 'class-validator';
import { OptionalField } from '../common/validation/optional-field.decorator';
import { carriesFiles, IsNotBlankOrEmptyIf } from '../common/validation/not-blank.decorator';
import { IsWellFormed } from '../common/validation/well-formed.decorator';

// The same transport limits as a user's message; the configured length is enforced by the service.
const ID = /^[A-Za-z0-9._:-]+$/;

export class AdminSessionRefPayload {
  @IsUUID() sessionId!: string;
}

export class AdminMessagePayload extends AdminSessionRefPayload {
  @IsString() @Length(1, 64) @Matches(ID) clientMessageId!: string;
  /** '' for files alone. */
  @IsString() @MaxLength(100000) @IsWellFormed() @IsNotBlankOrEmptyIf(carriesFiles) content!: string;
  /** Files to carry: the administrator's own uploads, or files already in the session. */
  @OptionalField() @IsArray() @ArrayMaxSize(10) @IsUUID('all', { each: true }) fileIds?: string[];
}

export class AdminTypingPayload extends AdminSessionRefPayload {
  @IsBoolean() isTyping!: boolean;
}
