import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, trusted } from 'mongoose';
import { StopReason, TurnLease, TurnLeaseDoc } from './schemas/turn-lease.schema';
import { isDuplicateKey } from './session.repository';

export type LeaseRecord = TurnLeaseDoc;

const toLease = (d: LeaseRecord): TurnLease => ({
  turnId: d.turnId,
  replica: d.replica,
  replyTo: d.replyTo,
  replyToSeq: d.replyToSeq,
  messageId: d.messageId,
  attempt: d.attempt,
  expiresAt: d.expiresAt,
  stop: d.stop,
  settling: d.settling,
});

/** Turn leases, one document per session while a turn holds it. */
@Injectable()
export class TurnLeaseRepository {
  constructor(@InjectModel(TurnLeaseDoc.name) private readonly model: Model<TurnLeaseDoc>) {}

  /**
   * Takes the session's lease if nobody holds it: true only for the insert that made it. Safe to retry: an
   * insert whose answer was lost finds its own lease (its turn id is new to each claim), and `lease` then
   * takes the expiry that insert stored, which a retry with a later one must not overstate.
   */
  async claim(sessionId: string, lease: TurnLease): Promise<boolean> {
    try {
      // Straight to the driver, as messages are: built whole here, nothing to hydrate or cast.
      await this.model.collection.insertOne({ _id: sessionId, ...lease } as never);
      return true;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const held = await this.find(sessionId);
      if (held?.turnId !== lease.turnId) return false;
      lease.expiresAt = held.expiresAt;
      return true;
    }
  }

  async find(sessionId: string): Promise<TurnLease | null> {
    const doc = await this.model.findById(sessionId).lean<LeaseRecord>().exec();
    return doc ? toLease(doc) : null;
  }

  async heldFor(sessionIds: string[]): Promise<Set<string>> {
    const docs = await this.model
      .find({ _id: trusted({ $in: sessionIds }) })
      .lean<LeaseRecord[]>()
      .exec();
    return new Set(docs.map((d) => d._id));
  }

  /** Extends a lease still held by `turnId`; null once it was released or replaced. */
  async renew(sessionId: string, turnId: string, expiresAt: Date): Promise<TurnLease | null> {
    const doc = await this.model
      .findOneAndUpdate({ _id: sessionId, turnId }, { $set: { expiresAt } }, { returnDocument: 'after' })
      .lean<LeaseRecord>()
      .exec();
    return doc ? toLease(doc) : null;
  }

  async release(sessionId: string, turnId: string): Promise<boolean> {
    return (await this.model.deleteOne({ _id: sessionId, turnId })).deletedCount === 1;
  }

  /**
   * Replaces a lease its holder let expire: the expired one is deleted, then the new one inserted, so
   * of several replicas trying at once exactly one gets it.
   */
  async takeExpired(sessionId: string, expiredTurnId: string, now: Date, lease: TurnLease): Promise<boolean> {
    const expired = await this.model.deleteOne({
      _id: sessionId,
      turnId: expiredTurnId,
      expiresAt: trusted({ $lt: now }),
    });
    return expired.deletedCount === 1 && this.claim(sessionId, lease);
  }

  /** Flags the running turn (that reply's, when given) to stop; the lease it flagged, or null. */
  async flagStop(sessionId: string, reason: StopReason, messageId?: string): Promise<TurnLease | null> {
    const doc = await this.model
      .findOneAndUpdate(
        { _id: sessionId, settling: null, ...(messageId ? { messageId } : {}) },
        { $set: { stop: reason } },
        { returnDocument: 'after' },
      )
      .lean<LeaseRecord>()
      .exec();
    return doc ? toLease(doc) : null;
  }

  async findExpired(now: Date, limit: number): Promise<{ sessionId: string; lease: TurnLease }[]> {
    const docs = await this.model
      .find({ expiresAt: trusted({ $lt: now }) })
      .limit(limit)
      .lean<LeaseRecord[]>()
      .exec();
    return docs.map((d) => ({ sessionId: d._id, lease: toLease(d) }));
  }

  /** Whatever turn holds the lease: for a session being erased, whose turn was asked to stop first. */
  async delete(sessionId: string): Promise<number> {
    return (await this.model.deleteOne({ _id: sessionId })).deletedCount;
  }
}
