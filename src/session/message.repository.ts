import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, trusted } from 'mongoose';
import { MessageDoc, StoredTranscript } from './schemas/message.schema';

export type MessageRecord = MessageDoc;

/** Messages, always scoped by session; every list is bounded and served by the (sessionId, seq) index. */
@Injectable()
export class MessageRepository {
  constructor(@InjectModel(MessageDoc.name) private readonly model: Model<MessageDoc>) {}

  /** Straight to the driver: the record is built whole by the service, so no document is hydrated or cast. */
  async insert(message: MessageRecord): Promise<void> {
    await this.model.collection.insertOne(message as never);
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

  /** Every message the AI still owes (up to `upToSeq`) is the human's now: no AI turn answers it, then or later. */
  async handToHuman(sessionId: string, upToSeq?: number): Promise<void> {
    const upTo = upToSeq === undefined ? {} : { seq: trusted({ $lte: upToSeq }) };
    await this.model.updateMany({ sessionId, answered: false, ...upTo }, { $set: { answered: true } });
  }

  /**
   * Records that the user message is answered — or, with `reopenAttempt`, that it is owed another answer
   * stored under that attempt. Idempotent: asking again changes nothing (and writes nothing). False when the
   * message is gone (its session was erased).
   */
  async recordAnswer(messageId: string, reopenAttempt?: number): Promise<boolean> {
    const result = await this.model.updateOne(
      { _id: messageId },
      reopenAttempt === undefined ? { $set: { answered: true } } : { $max: { attempt: reopenAttempt } },
    );
    return result.matchedCount === 1;
  }

  findById(sessionId: string, id: string): Promise<MessageRecord | null> {
    return this.model.findOne({ _id: id, sessionId }).lean<MessageRecord>().exec();
  }

  /**
   * Stores a voice note's transcript unless one is stored already (one conditional write, so two turns
   * racing store one): the message after, or null when it had one.
   */
  setTranscriptOnce(
    sessionId: string,
    messageId: string,
    fileId: string,
    transcript: StoredTranscript,
  ): Promise<MessageRecord | null> {
    // The id is a key of the stored document: only an upload's id (a UUID) may become one.
    if (!/^[0-9a-f-]{36}$/i.test(fileId)) throw new Error(`not a file id: ${fileId}`);
    const key = `transcripts.${fileId}`;
    return this.model
      .findOneAndUpdate(
        { _id: messageId, sessionId, [key]: trusted({ $exists: false }) },
        { $set: { [key]: transcript } },
        { returnDocument: 'after' },
      )
      .lean<MessageRecord>()
      .exec();
  }

  /** Every message of the session: how many were deleted. */
  async deleteForSession(sessionId: string): Promise<number> {
    return (await this.model.deleteMany({ sessionId })).deletedCount;
  }
}
