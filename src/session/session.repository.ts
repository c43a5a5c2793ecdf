import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, trusted } from 'mongoose';
import { SessionDoc, SessionOwner, StopReason, TurnLease } from './schemas/session.schema';

export type SessionRecord = SessionDoc;

export interface SessionCursor {
  lastActivityAt: Date;
  id: string;
}

/** What a finished turn adds to its session's counters. */
export interface TurnStats {
  tokens: { prompt: number; completion: number };
  responseMs: number;
  turnMs: number;
}

function addStats(stats?: TurnStats) {
  if (!stats) return {};
  return {
    $inc: {
      'tokens.prompt': stats.tokens.prompt,
      'tokens.completion': stats.tokens.completion,
      'responseTime.count': 1,
      'responseTime.sumMs': stats.responseMs,
      'turnTime.count': 1,
      'turnTime.sumMs': stats.turnMs,
    },
    $max: { 'responseTime.maxMs': stats.responseMs, 'turnTime.maxMs': stats.turnMs },
  };
}

export function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: number } | null)?.code === 11000;
}

/**
 * Sessions, changed only through conditional single-document updates; every read is scoped by id or owner.
 * The turn lease lives here, on the session it fences, so whoever holds it is decided by one document.
 */
@Injectable()
export class SessionRepository {
  constructor(@InjectModel(SessionDoc.name) private readonly model: Model<SessionDoc>) {}

  /** Sessions stored before owners and leases existed belong to the AI and hold no lease. */
  async upgradeLegacy(): Promise<void> {
    await this.model.updateMany(
      { owner: trusted({ $exists: false }) },
      { $set: { owner: 'ai', epoch: 0, lease: null } },
    );
  }

  async create(session: SessionRecord): Promise<void> {
    await this.model.create(session);
  }

  findById(id: string): Promise<SessionRecord | null> {
    return this.model.findById(id).lean<SessionRecord>().exec();
  }

  findActiveForUser(userId: string): Promise<SessionRecord | null> {
    return this.model.findOne({ activeKey: userId }).lean<SessionRecord>().exec();
  }

  /**
   * Ends the session if it is still active — and, for the sweeper, only if no replica has seen it
   * since `unseenSince` — so a device that came back in the meantime keeps it. True only for the caller that ended it.
   */
  async end(session: SessionRecord, now: Date, unseenSince?: Date): Promise<boolean> {
    const result = await this.model.updateOne(
      {
        _id: session._id,
        status: 'active',
        ...(unseenSince ? { lastSeenAt: trusted({ $lt: unseenSince }) } : {}),
      },
      {
        $set: {
          status: 'ended',
          activeKey: `ended:${session._id}`,
          endedAt: now,
          durationMs: now.getTime() - new Date(session.startedAt).getTime(),
        },
      },
    );
    return result.modifiedCount === 1;
  }

  /** The next seq of an active session (or of any, for a reply already under way), or undefined. */
  async allocateSeq(id: string, now: Date, evenIfEnded = false): Promise<number | undefined> {
    const doc = await this.model
      .findOneAndUpdate(
        evenIfEnded ? { _id: id } : { _id: id, status: 'active' },
        { $inc: { lastSeq: 1, messageCount: 1 }, $set: { lastActivityAt: now, lastMessageAt: now, lastSeenAt: now } },
        { returnDocument: 'after' },
      )
      .lean<{ lastSeq: number }>()
      .exec();
    return doc?.lastSeq;
  }

  /** A seq taken by a write that turned out to be a duplicate stores no message. */
  async uncount(id: string): Promise<void> {
    await this.model.updateOne({ _id: id }, { $inc: { messageCount: -1 } });
  }

  async setNameIfUnset(id: string, encryptedName: string): Promise<void> {
    await this.model.updateOne({ _id: id, name: trusted({ $exists: false }) }, { $set: { name: encryptedName } });
  }

  async setModel(id: string, modelId: string): Promise<boolean> {
    const result = await this.model.updateOne({ _id: id, status: 'active' }, { $set: { modelId } });
    return result.matchedCount === 1;
  }

  findActiveByIds(ids: string[]): Promise<SessionRecord[]> {
    return this.model
      .find({ _id: trusted({ $in: ids }), status: 'active' })
      .lean<SessionRecord[]>()
      .exec();
  }

  countActive(): Promise<number> {
    return this.model.countDocuments({ status: 'active' }).exec();
  }

  async setProviderConversation(id: string, conversationId: string): Promise<void> {
    await this.model.updateOne({ _id: id }, { $set: { providerConversationId: conversationId } });
  }

  async markSeen(ids: string[], now: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.model.updateMany({ _id: trusted({ $in: ids }), status: 'active' }, { $set: { lastSeenAt: now } });
  }

  findUnseenSince(before: Date, limit: number): Promise<SessionRecord[]> {
    return this.model
      .find({ status: 'active', lastSeenAt: trusted({ $lt: before }) })
      .limit(limit)
      .lean<SessionRecord[]>()
      .exec();
  }

  /** Most recent activity first; the cursor keeps pages stable while new sessions appear. */
  listForUser(userId: string, limit: number, after?: SessionCursor): Promise<SessionRecord[]> {
    const filter = after
      ? {
          userId,
          $or: [
            { lastActivityAt: trusted({ $lt: after.lastActivityAt }) },
            { lastActivityAt: after.lastActivityAt, _id: trusted({ $lt: after.id }) },
          ],
        }
      : { userId };
    return this.model.find(filter).sort({ lastActivityAt: -1, _id: -1 }).limit(limit).lean<SessionRecord[]>().exec();
  }

  /** Hands the session to a new owner if nobody changed it since `epoch`; the epoch grows. */
  changeOwner(id: string, epoch: number, owner: SessionOwner): Promise<SessionRecord | null> {
    return this.model
      .findOneAndUpdate({ _id: id, epoch }, { $set: { owner }, $inc: { epoch: 1 } }, { returnDocument: 'after' })
      .lean<SessionRecord>()
      .exec();
  }

  /** Takes the idle lease of an active session the AI owns, still at `lease.epoch`. */
  claimLease(id: string, lease: TurnLease): Promise<SessionRecord | null> {
    return this.model
      .findOneAndUpdate(
        { _id: id, status: 'active', owner: 'ai', epoch: lease.epoch, lease: null },
        { $set: { lease } },
        { returnDocument: 'after' },
      )
      .lean<SessionRecord>()
      .exec();
  }

  /**
   * Moves a held lease straight to the next turn, so no other replica can slip in between two turns;
   * the finished turn's figures are added in the same write.
   */
  rebindLease(id: string, fromTurnId: string, lease: TurnLease, stats?: TurnStats): Promise<SessionRecord | null> {
    return this.model
      .findOneAndUpdate(
        { _id: id, 'lease.turnId': fromTurnId, status: 'active', owner: 'ai', epoch: lease.epoch },
        { $set: { lease }, ...addStats(stats) },
        { returnDocument: 'after' },
      )
      .lean<SessionRecord>()
      .exec();
  }

  /** Replaces a lease its holder let expire; the new holder settles the old turn. */
  takeExpiredLease(id: string, expiredTurnId: string, now: Date, lease: TurnLease): Promise<SessionRecord | null> {
    return this.model
      .findOneAndUpdate(
        { _id: id, 'lease.turnId': expiredTurnId, 'lease.expiresAt': trusted({ $lt: now }) },
        { $set: { lease } },
        { returnDocument: 'after' },
      )
      .lean<SessionRecord>()
      .exec();
  }

  /** Extends a lease still held; null once another holder replaced it (or it was released). */
  renewLease(id: string, turnId: string, expiresAt: Date): Promise<SessionRecord | null> {
    return this.model
      .findOneAndUpdate(
        { _id: id, 'lease.turnId': turnId },
        { $set: { 'lease.expiresAt': expiresAt } },
        { returnDocument: 'after' },
      )
      .lean<SessionRecord>()
      .exec();
  }

  /** Ends a lease still held, adding the finished turn's figures to the session in the same write. */
  async releaseLease(id: string, turnId: string, stats?: TurnStats): Promise<boolean> {
    const result = await this.model.updateOne(
      { _id: id, 'lease.turnId': turnId },
      { $set: { lease: null }, ...addStats(stats) },
    );
    return result.modifiedCount === 1;
  }

  /** Flags the running turn (that one reply's, when given) to stop; the lease it flagged, or null. */
  async flagStop(id: string, reason: StopReason, messageId?: string): Promise<TurnLease | null> {
    const doc = await this.model
      .findOneAndUpdate(
        { _id: id, 'lease.recovering': false, ...(messageId ? { 'lease.messageId': messageId } : {}) },
        { $set: { 'lease.stop': reason } },
        { returnDocument: 'after' },
      )
      .lean<SessionRecord>()
      .exec();
    return doc?.lease ?? null;
  }

  /** Sessions whose turn lease ran out: their holder died or stalled. */
  findExpiredLeases(now: Date, limit: number): Promise<SessionRecord[]> {
    return this.model
      .find({ 'lease.expiresAt': trusted({ $lt: now }) })
      .limit(limit)
      .lean<SessionRecord[]>()
      .exec();
  }
}
