import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, trusted } from 'mongoose';
import { MessageDoc } from './schemas/message.schema';

export type MessageRecord = MessageDoc;

/** Messages, always scoped by session; every list is bounded and served by the (sessionId, seq) index. */
@Injectable()
export class MessageRepository {
  constructor(@InjectModel(MessageDoc.name) private readonly model: Model<MessageDoc>) {}

  async insert(message: MessageRecord): Promise<void> {
    await this.model.create(message);
  }

  findByClientKey(sessionId: string, clientKey: string): Promise<MessageRecord | null> {
    return this.model.findOne({ sessionId, clientKey }).lean<MessageRecord>().exec();
  }

  /** Oldest first, after `afterSeq`. */
  listAfter(sessionId: string, afterSeq: number, limit: number): Promise<MessageRecord[]> {
    return this.model
      .find({ sessionId, seq: trusted({ $gt: afterSeq }) })
      .sort({ seq: 1 })
      .limit(limit)
      .lean<MessageRecord[]>()
      .exec();
  }

  /** Newest first, before `beforeSeq` (from the newest when absent). */
  listBefore(sessionId: string, beforeSeq: number | undefined, limit: number): Promise<MessageRecord[]> {
    return this.model
      .find(beforeSeq === undefined ? { sessionId } : { sessionId, seq: trusted({ $lt: beforeSeq }) })
      .sort({ seq: -1 })
      .limit(limit)
      .lean<MessageRecord[]>()
      .exec();
  }

  /** The oldest user message no AI turn has answered yet. */
  nextUnanswered(sessionId: string): Promise<MessageRecord | null> {
    return this.model.findOne({ sessionId, answered: false }).sort({ seq: 1 }).lean<MessageRecord>().exec();
  }

  countUnanswered(sessionId: string): Promise<number> {
    return this.model.countDocuments({ sessionId, answered: false }).exec();
  }

  /** Of these sessions, those with a user message no turn has answered. */
  async sessionsWithUnanswered(sessionIds: string[]): Promise<string[]> {
    return this.model.distinct('sessionId', { sessionId: trusted({ $in: sessionIds }), answered: false }).exec();
  }

  async markAnswered(messageId: string): Promise<void> {
    await this.model.updateOne({ _id: messageId, answered: false }, { $set: { answered: true } });
  }

  /** True only for the caller that marked the reply announced. */
  async markAnnounced(messageId: string): Promise<boolean> {
    return (
      (await this.model.updateOne({ _id: messageId, announced: false }, { $set: { announced: true } }))
        .modifiedCount === 1
    );
  }

  /** After an interrupted reply, the next answer is stored under a later attempt (idempotent: never goes back). */
  async advanceAttempt(messageId: string, attempt: number): Promise<void> {
    await this.model.updateOne({ _id: messageId }, { $max: { attempt } });
  }
}
