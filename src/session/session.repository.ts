import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, trusted } from 'mongoose';
import { SessionDoc, SessionOwner } from './schemas/session.schema';

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

function addStats(stats: TurnStats) {
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

/** Sessions, changed only through conditional single-document updates; every read is scoped by id or owner. */
@Injectable()
export class SessionRepository {
  constructor(@InjectModel(SessionDoc.name) private readonly model: Model<SessionDoc>) {}

  /** Sessions stored before owners and leases existed belong to the AI and hold no lease. */
  async upgradeLegacy(): Promise<void> {
    await this.model.updateMany({ owner: trusted({ $exists: false }) }, { $set: { owner: 'ai', epoch: 0 } });
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

  /**
   * The next seq of an active session, or of any for a reply already under way (`evenIfEnded`). A
   * message from a device also marks the session seen; a reply, which needs no device, does not.
   */
  async allocateSeq(id: string, now: Date, evenIfEnded = false): Promise<number | undefined> {
    const seen = evenIfEnded ? {} : { lastSeenAt: now };
    const doc = await this.model
      .findOneAndUpdate(
        evenIfEnded ? { _id: id } : { _id: id, status: 'active' },
        { $inc: { lastSeq: 1, messageCount: 1 }, $set: { lastActivityAt: now, lastMessageAt: now, ...seen } },
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

  /** Adds a finished turn's figures to its session. */
  async recordTurn(id: string, stats: TurnStats): Promise<void> {
    await this.model.updateOne({ _id: id }, addStats(stats));
  }

  /** Hands the session to a new owner if nobody changed it since `epoch`; the epoch grows. */
  changeOwner(id: string, epoch: number, owner: SessionOwner): Promise<SessionRecord | null> {
    return this.model
      .findOneAndUpdate({ _id: id, epoch }, { $set: { owner }, $inc: { epoch: 1 } }, { returnDocument: 'after' })
      .lean<SessionRecord>()
      .exec();
  }
}
