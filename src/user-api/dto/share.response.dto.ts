import { ApiProperty } from '@nestjs/swagger';
import type { ShareView } from '../../session/share.service';

/** A read-only link to a conversation, as its owner lists it. */
export class ShareResponseDto implements ShareView {
  @ApiProperty({ type: String, format: 'uuid' }) id!: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'Null: lasts until revoked' })
  expiresAt!: string | null;
  @ApiProperty({ type: Boolean }) revoked!: boolean;
}

/** `POST /sessions/:id/shares`: the new link, with the only copy of its token. */
export class CreatedShareResponseDto extends ShareResponseDto {
  @ApiProperty({ type: String, description: 'For `GET /shared/{token}`; shown once, only its hash is kept' })
  token!: string;
}
