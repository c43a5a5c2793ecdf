import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/** Why a running AI turn is asked to stop. */
export type StopReason = 'stopped' | 'session_ended' | 'owner_changed' | 'abandoned';

/**
 * The AI turn a session is running, and its fence: one document per session, present only while a turn
 * holds it. It is taken by inserting it (the unique _id decides, atomically on any server), renewed and
 * flagged by conditional updates on its turn id, and released by deleting it. It lives apart from the
 * session, so writes to the session (every message) never touch it.
 */
@Schema({ collection: 'turn_leases', versionKey: false })
export class TurnLeaseDoc {
  /** The session id. */
  @Prop({ type: String, required: true }) _id!: string;
  @Prop({ required: true }) turnId!: string;
  /** The replica process running it. */
  @Prop({ required: true }) replica!: string;
  /** The user message being answered, and its seq. */
  @Prop({ required: true }) replyTo!: string;
  @Prop({ required: true }) replyToSeq!: number;
  /** The id the reply is streamed and stored under. */
  @Prop({ required: true }) messageId!: string;
  /** Which answer to `replyTo` this is: 0, then +1 after each interrupted one. */
  @Prop({ required: true }) attempt!: number;
  @Prop({ required: true }) expiresAt!: Date;
  /** Set when someone asked the turn to stop; the holder reads it when it renews. */
  @Prop({ type: String, default: null }) stop!: StopReason | null;
  /**
   * While another replica settles a turn whose holder let the lease expire: the id of that turn (its
   * reply in flight is kept under it). Null for a running turn.
   */
  @Prop({ type: String, default: null }) settling!: string | null;
}

export type TurnLease = Omit<TurnLeaseDoc, '_id'>;

export const TurnLeaseSchema = SchemaFactory.createForClass(TurnLeaseDoc);
TurnLeaseSchema.index({ expiresAt: 1 });
