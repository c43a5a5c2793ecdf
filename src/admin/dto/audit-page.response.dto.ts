import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  AUDIT_ACTIONS,
  AUDIT_ACTOR_KINDS,
  type AuditAction,
  type AuditActor,
  type AuditActorKind,
  type AuditDetails,
} from '../../audit/audit-record';

class AuditActorDto implements AuditActor {
  @ApiProperty({ enum: AUDIT_ACTOR_KINDS }) kind!: AuditActorKind;
  @ApiProperty({ type: String, description: "The administrator's or the user's id, or `system`" }) id!: string;
  @ApiPropertyOptional({ type: String }) name?: string;
}

/** One record of the hash-chained audit log, as stored (`at` as an ISO string). */
class AuditRecordDto {
  @ApiProperty({ type: 'integer', minimum: 1, description: "The record's position in the chain, from 1" })
  _id!: number;
  @ApiProperty({ type: String, format: 'date-time' }) at!: string;
  @ApiProperty({ enum: AUDIT_ACTIONS }) action!: AuditAction;
  @ApiProperty({ type: () => AuditActorDto }) actor!: AuditActorDto;
  @ApiPropertyOptional({ type: String, format: 'uuid', description: 'Absent for `user_erased`' })
  sessionId?: string;
  @ApiProperty({ type: String, description: 'The request that did it, or `release:<change>` for the sweeper' })
  requestId!: string;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
    description: 'Flat facts about the action, such as why a takeover was released',
  })
  details?: AuditDetails;
  @ApiProperty({ type: String, pattern: '^[0-9a-f]{64}$', description: "The previous record's hash" })
  prevHash!: string;
  @ApiProperty({
    type: String,
    pattern: '^[0-9a-f]{64}$',
    description: 'sha256 of `prevHash` and the canonical JSON of the other fields',
  })
  hash!: string;
}

/** `GET /admin/audit`: a page of the log, newest first. */
export class AuditPageResponseDto {
  @ApiProperty({ type: [AuditRecordDto] }) records!: AuditRecordDto[];
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Pass as `before` for the next page; null on the last',
  })
  nextBefore!: number | null;
}
