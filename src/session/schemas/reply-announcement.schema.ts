import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/**
 * Who sends a stored reply's one terminal event (`ai:end` or `ai:error`): the document `<replyId>`, so of
 * everyone settling the reply (its writer, and the replica that took an expired lease over while the writer
 * was only slow) exactly one inserts it — atomically on any server, where a conditional update of the user
 * message is not (FerretDB reads, then writes the whole document back).
 */
@Schema({ collection: 'reply_announcements', versionKey: false })
export class ReplyAnnouncementDoc {
  /** The reply's id. */
  @Prop({ type: String, required: true }) _id!: string;
  @Prop({ required: true }) sessionId!: string;
  /** The turn that claimed it: a claimer asking again, its first answer lost, finds its own claim. */
  @Prop({ required: true }) turnId!: string;
  @Prop({ required: true }) at!: Date;
}

export const ReplyAnnouncementSchema = SchemaFactory.createForClass(ReplyAnnouncementDoc);
// Erasing a session deletes its claims.
ReplyAnnouncementSchema.index({ sessionId: 1 });
