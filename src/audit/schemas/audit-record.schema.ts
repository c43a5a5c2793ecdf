import { Prop, raw, Schema, SchemaFactory } from '@nestjs/mongoose';
import {
  AUDIT_ACTIONS,
  AUDIT_ACTOR_KINDS,
  type AuditAction,
  type AuditActor,
  type AuditDetails,
} from '../audit-record';

export const AUDIT_COLLECTION = 'audit';

/**
 * One record of the append-only audit log. `_id` is the record's position in the chain, so two replicas
 * appending at once cannot both take the same place: the second insert fails as a duplicate key.
 */
@Schema({ collection: AUDIT_COLLECTION, versionKey: false })
export class AuditRecordDoc {
  @Prop({ type: Number, required: true }) _id!: number;
  @Prop({ required: true }) at!: Date;
  @Prop({ type: String, required: true, enum: AUDIT_ACTIONS }) action!: AuditAction;
  @Prop(
    raw({
      kind: { type: String, required: true, enum: AUDIT_ACTOR_KINDS },
      id: { type: String, required: true },
      name: { type: String },
    }),
  )
  actor!: AuditActor;
  @Prop({ type: String }) sessionId?: string;
  @Prop({ required: true }) requestId!: string;
  @Prop({ type: Object }) details?: AuditDetails;
  @Prop({ required: true }) prevHash!: string;
  @Prop({ required: true }) hash!: string;
}

export const AuditRecordSchema = SchemaFactory.createForClass(AuditRecordDoc);
// The admin API's filters, each with the log's own order after it.
AuditRecordSchema.index({ sessionId: 1, _id: -1 });
AuditRecordSchema.index({ 'actor.id': 1, _id: -1 });
AuditRecordSchema.index({ at: -1 });
