import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, trusted } from 'mongoose';
import { SessionDoc } from './schemas/session.schema';

export type SessionRecord = SessionDoc;

export interface SessionCursor {
  lastActivityAt: Date;
  id: string;
}

export function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: number } | null)?.code === 11000;
}

/** Sessions, changed only through atomic conditional updates; every read is scoped by id or owner. */
@Injectable()
export class SessionRepository {
  constructor(@InjectModel(SessionDoc.name) private readonly model: Model<SessionDoc>) {}

  async create(session: SessionRecord): Promise<void> {
    await this.model.create(session);
  }

  findById(id: string): Promise<SessionRecord | null> {
    return this.model.findById(id).lean<SessionRecord>().exec();
  }

  findActiveForUser(userId: string): Promise<SessionRecord | null> {
    return this.model.findOne({ activeKey: userId }).lean<SessionRecord>().exec();
  }

  /** Ends the session if it is still active; true only for the caller that ended it. */
  async end(session: SessionRecord, now: Date): Promise<boolean> {
    const result = await this.model.updateOne(
      { _id: session._id, status: 'active' },
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

  /** A seq taken by a resend that turned out to be a duplicate stores no message. */
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

  async setProviderConversation(id: string, conversationId: string): Promise<void> {
    await this.model.updateOne({ _id: id }, { $set: { providerConversationId: conversationId } });
  }

  async recordTurn(
    id: string,
    tokens: { prompt: number; completion: number },
    timing: { responseMs: number; turnMs: number },
  ): Promise<void> {
    await this.model.updateOne(
      { _id: id },
      {
        $inc: {
          'tokens.prompt': tokens.prompt,
          'tokens.completion': tokens.completion,
          'responseTime.count': 1,
          'responseTime.sumMs': timing.responseMs,
          'turnTime.count': 1,
          'turnTime.sumMs': timing.turnMs,
        },
        $max: { 'responseTime.maxMs': timing.responseMs, 'turnTime.maxMs': timing.turnMs },
      },
    );
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
}
