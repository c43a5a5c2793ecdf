import { ApiProperty } from '@nestjs/swagger';
import type { Erasure } from '../../data-rights/data-rights.service';

/** `DELETE /me`: how many of each kind of record were deleted (0 everywhere when nothing was left). */
export class ErasureResponseDto implements Erasure {
  @ApiProperty({ type: 'integer', minimum: 0 }) sessions!: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) messages!: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Read-only links' }) shares!: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Records of takeovers and hand-backs' })
  ownerChanges!: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Records of which turn announced the end of each reply' })
  replyAnnouncements!: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Leases of replies still held' }) turnLeases!: number;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'Files sent in the sessions or uploaded, with their objects',
  })
  files!: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Notifications about the sessions (help requests)' })
  notifications!: number;
}
