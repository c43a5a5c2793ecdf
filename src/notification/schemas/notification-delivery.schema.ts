import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { ChannelKind, NotificationData, NotificationEvent } from '../notification-channel';

export type DeliveryStatus = 'pending' | 'sent' | 'failed' | 'cancelled';

/**
 * The outbox: one document per notification and channel, kept until it ends `sent`, `failed` (after its
 * retries, with the channel's last error) or `cancelled` (an escalation whose request was picked up).
 * Its `_id` is the delivery id, built from the event's key and window: the same event raised on several
 * replicas, or again within NOTIFY_MIN_INTERVAL_MS, is one document — the unique `_id` decides, on any server.
 */
@Schema({ collection: 'notification_outbox', versionKey: false })
export class NotificationDeliveryDoc {
  @Prop({ type: String, required: true }) _id!: string;
  @Prop({ type: String, required: true }) event!: NotificationEvent;
  @Prop({ type: String, required: true }) channel!: ChannelKind;
  @Prop({ type: Object, required: true }) data!: NotificationData;
  @Prop({ required: true }) occurredAt!: Date;
  /** For help events: the session, so a takeover can cancel the escalations still pending. */
  @Prop({ type: String, default: null }) sessionId!: string | null;
  @Prop({ type: String, required: true }) status!: DeliveryStatus;
  /** Attempts made so far; each is claimed by one replica through a unique insert of `<id>:<attempt>`. */
  @Prop({ required: true, default: 0 }) attempts!: number;
  /** When the next attempt is due (a retry's backoff, an escalation's delay). */
  @Prop({ required: true }) dueAt!: Date;
  @Prop({ type: String, default: null }) lastError!: string | null;
  @Prop({ type: Date, default: null }) endedAt!: Date | null;
}

export const NotificationDeliverySchema = SchemaFactory.createForClass(NotificationDeliveryDoc);
NotificationDeliverySchema.index({ status: 1, channel: 1, dueAt: 1 });
NotificationDeliverySchema.index({ sessionId: 1, status: 1 });

/**
 * Who makes an attempt: the replica that inserted `<deliveryId>:<attempt>` first. A replica that died
 * mid-attempt leaves its claim; once `expiresAt` passed, the attempt counts as made and the next one is
 * claimed anew, so the delivery is never stuck and never sent by two replicas at once.
 */
@Schema({ collection: 'notification_claims', versionKey: false })
export class NotificationClaimDoc {
  @Prop({ type: String, required: true }) _id!: string;
  @Prop({ required: true }) replica!: string;
  @Prop({ required: true }) expiresAt!: Date;
}

export const NotificationClaimSchema = SchemaFactory.createForClass(NotificationClaimDoc);
