import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/**
 * The cluster's active sessions at one moment of one sampling slot (METRICS_SAMPLE_MS). The slot's start
 * is the `_id`, so of the replicas sampling it exactly one insert succeeds: the only fence FerretDB v1 makes
 * atomic, which has no atomic conditional update.
 */
@Schema({ collection: 'concurrency_samples', versionKey: false })
export class ConcurrencySampleDoc {
  /** The slot's start, as an ISO 8601 string. */
  @Prop({ type: String, required: true }) _id!: string;
  /** When the sessions were counted (within the slot). */
  @Prop({ required: true }) at!: Date;
  @Prop({ required: true }) active!: number;
  /** The replica that wrote it. */
  @Prop({ required: true }) replica!: string;
}

export const ConcurrencySampleSchema = SchemaFactory.createForClass(ConcurrencySampleDoc);
ConcurrencySampleSchema.index({ at: 1 });
