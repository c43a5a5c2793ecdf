import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, trusted } from 'mongoose';
import { isDuplicateKey } from '../session/session.repository';
import type { ChannelKind, NotificationEvent } from './notification-channel';
import { DeliveryStatus, NotificationClaimDoc, NotificationDeliveryDoc } from './schemas/notification-delivery.schema';

export type Delivery = NotificationDeliveryDoc;

/** The notification outbox and the claims on its attempts; every write is an insert or keyed by attempt. */
@Injectable()
export class OutboxRepository {
  constructor(
    @InjectModel(NotificationDeliveryDoc.name) private readonly deliveries: Model<NotificationDeliveryDoc>,
    @InjectModel(NotificationClaimDoc.name) private readonly claims: Model<NotificationClaimDoc>,
  ) {}

  /** Stores a delivery unless one with its id exists (raised already, on this replica or another). */
  async insert(delivery: Delivery): Promise<boolean> {
    try {
      await this.deliveries.collection.insertOne(delivery as never);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  findById(id: string): Promise<Delivery | null> {
    return this.deliveries.findById(id).lean<Delivery>().exec();
  }

  /** The channel's pending deliveries due by `now`, the longest due first. */
  due(channel: ChannelKind, now: Date, limit: number): Promise<Delivery[]> {
    return this.deliveries
      .find({ status: 'pending', channel, dueAt: trusted({ $lte: now }) })
      .sort({ dueAt: 1 })
      .limit(limit)
      .lean<Delivery[]>()
      .exec();
  }

  /**
   * Claims the delivery's next attempt for `replica`: true for the one insert that made the claim, and only
   * while the delivery is still at that attempt (the copy read may be stale: another replica may have made
   * the attempt and dropped its claim since). A claim left by a replica that stopped is expired once
   * `expiresAt` passed: the attempt then counts as made — the last one ends the delivery `failed` — and the
   * next drain makes the next one.
   */
  async claim(
    delivery: Delivery,
    replica: string,
    now: Date,
    limits: { claimMs: number; maxAttempts: number },
  ): Promise<boolean> {
    const _id = `${delivery._id}:${delivery.attempts}`;
    let inserted = false;
    try {
      await this.claims.collection.insertOne({
        _id,
        replica,
        expiresAt: new Date(now.getTime() + limits.claimMs),
      } as never);
      inserted = true;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    if (inserted) {
      const current = await this.findById(delivery._id).catch(async (error: unknown) => {
        // Not known to be made: a claim left here would later count the attempt as made by a replica that stopped.
        await this.claims.deleteOne({ _id, replica }).catch(() => undefined);
        throw error;
      });
      if (current?.status === 'pending' && current.attempts === delivery.attempts) return true;
      // Made already: the claim is of no use to anyone.
      await this.claims.deleteOne({ _id, replica });
      return false;
    }
    const held = await this.claims.findById(_id).lean<NotificationClaimDoc>().exec();
    if (held && new Date(held.expiresAt).getTime() < now.getTime()) {
      // The channel's error of an earlier attempt, if any, stays readable.
      const stopped = 'the replica making the attempt stopped';
      const lastError = delivery.lastError ? `${stopped} (before: ${delivery.lastError})`.slice(0, 600) : stopped;
      const last = delivery.attempts + 1 >= limits.maxAttempts;
      await this.advance(delivery, last ? { status: 'failed', endedAt: now, lastError } : { lastError });
      await this.claims.deleteOne({ _id, replica: held.replica });
    }
    return false;
  }

  /** Ends or reschedules the delivery after attempt `delivery.attempts`; a write for a later attempt wins. */
  async advance(
    delivery: Delivery,
    outcome: { status?: DeliveryStatus; dueAt?: Date; lastError?: string | null; endedAt?: Date },
  ): Promise<void> {
    await this.deliveries.updateOne(
      { _id: delivery._id, attempts: delivery.attempts, status: 'pending' },
      { $set: { ...outcome, attempts: delivery.attempts + 1 } },
    );
  }

  /** Drops the claim of an attempt that was settled (best effort: a claim left behind only takes room). */
  async dropClaim(delivery: Delivery): Promise<void> {
    await this.claims.deleteOne({ _id: `${delivery._id}:${delivery.attempts}` });
  }

  /** Cancels the session's deliveries of `event` still pending (an escalation whose request was picked up). */
  async cancelPending(sessionId: string, event: NotificationEvent, now: Date): Promise<number> {
    const result = await this.deliveries.updateMany(
      { sessionId, event, status: 'pending' },
      { $set: { status: 'cancelled', endedAt: now } },
    );
    return result.modifiedCount;
  }

  /** Deletes deliveries that ended before `endedBefore` and claims that expired before `expiredBefore`. */
  async prune(endedBefore: Date, expiredBefore: Date): Promise<{ deliveries: number; claims: number }> {
    const [deliveries, claims] = await Promise.all([
      this.deliveries.deleteMany({
        status: trusted({ $in: ['sent', 'failed', 'cancelled'] }),
        endedAt: trusted({ $lt: endedBefore }),
      }),
      this.claims.deleteMany({ expiresAt: trusted({ $lt: expiredBefore }) }),
    ]);
    return { deliveries: deliveries.deletedCount, claims: claims.deletedCount };
  }

  /** Deletes every delivery about the session, whatever its status (their data names the user, and quotes them). */
  async deleteForSession(sessionId: string): Promise<number> {
    return (await this.deliveries.deleteMany({ sessionId })).deletedCount;
  }

  countPending(): Promise<number> {
    return this.deliveries.countDocuments({ status: 'pending' }).exec();
  }
}
