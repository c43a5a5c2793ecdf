import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/** A read-only link to a session. Only the token's hash is stored. */
@Schema({ collection: 'shares', versionKey: false })
export class ShareDoc {
  @Prop({ type: String, required: true }) _id!: string;
  @Prop({ required: true }) tokenHash!: string;
  @Prop({ required: true }) sessionId!: string;
  @Prop({ required: true }) userId!: string;
  @Prop({ required: true }) createdAt!: Date;
  @Prop({ type: Date }) expiresAt?: Date;
  @Prop({ type: Date }) revokedAt?: Date;
}

export const ShareSchema = SchemaFactory.createForClass(ShareDoc);
ShareSchema.index({ tokenHash: 1 }, { unique: true });
ShareSchema.index({ sessionId: 1, createdAt: -1 });
