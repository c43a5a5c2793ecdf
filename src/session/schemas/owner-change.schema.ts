import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { SessionOwner } from './session.schema';

/** Why a session changed hands. */
export type OwnerChangeCause =
  /** An administrator took the session over. */
  | 'takeover'
  /** The holder handed it back (`admin:leave`). */
  | 'admin_left'
  /** An administrator released it over REST. */
  | 'released'
  /** The holder's sockets were all gone for ADMIN_RELEASE_AFTER_MS. */
  | 'admin_gone'
  /** The holder wrote nothing for ADMIN_IDLE_RELEASE_MS. */
  | 'admin_idle';

/**
 * One change of a session's owner, and its fence: the change to epoch N is the document `<session>:N`, so
 * of everyone changing the session from epoch N-1 exactly one inserts it — atomically on any server, where
 * a conditional update of the session alone is not (FerretDB reads, then writes). The winner then writes
 * the session; whoever finds the change made but not yet written writes it for them. Together the
 * documents are the session's assistance history: who held it, from when, until the next change.
 */
@Schema({ collection: 'owner_changes', versionKey: false })
export class OwnerChangeDoc {
  /** `<sessionId>:<epoch>`. */
  @Prop({ type: String, required: true }) _id!: string;
  @Prop({ required: true }) sessionId!: string;
  /** The session's epoch after the change. */
  @Prop({ required: true }) epoch!: number;
  @Prop({ type: String, required: true }) owner!: SessionOwner;
  @Prop({ type: String, required: true }) previousOwner!: SessionOwner;
  /** The administrator's display name, when the change takes the session from one. */
  @Prop({ type: String }) previousOwnerName?: string;
  /** The administrator's display name, when an administrator takes the session. */
  @Prop({ type: String }) ownerName?: string;
  @Prop({ type: String, required: true }) cause!: OwnerChangeCause;
  /** Who made the change: `admin:<id>`, or `system` for an automatic release. */
  @Prop({ required: true }) actor!: string;
  @Prop({ required: true }) at!: Date;
  /** A takeover that answered an open help request: when that request was made (the wait is `at` minus it). */
  @Prop({ type: Date }) helpRequestedAt?: Date;
}

export const OwnerChangeSchema = SchemaFactory.createForClass(OwnerChangeDoc);
OwnerChangeSchema.index({ sessionId: 1, epoch: 1 });
// The usage figures read the takeovers of a time range.
OwnerChangeSchema.index({ cause: 1, at: 1 });
