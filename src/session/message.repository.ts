import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, trusted } from 'mongoose';
import { MessageDoc } from './schemas/message.schema';

export type MessageRecord = MessageDoc;

@Injectable()
export class MessageRepository {
  constructor(@InjectModel(MessageDoc.name) private readonly model: Model<MessageDoc>) {}

  async insert(message: MessageRecord): Promise<void> {
    await this.model.create(message);
  }

  findByClientKey(sessionId: string, clientKey: string): Promise<MessageRecord | null> {
    return this.model.findOne({ sessionId, clientKey }).lean<MessageRecord>().exec();
  }

  listAfter(sessionId: string, afterSeq: number, limit: number): Promise<MessageRecord[]> {
    return this.model
      .find({ sessionId, seq: trusted({ $gt: afterSeq }) })
      .sort({ seq: 1 })
      .limit(limit)
      .lean<MessageRecord[]>()
      .exec();
  }

  /** The oldest user message after `seq`: the next one an AI turn should answer. */
  nextUserMessageAfter(sessionId: string, seq: number): Promise<MessageRecord | null> {
    return this.model
      .findOne({ sessionId, sender: 'user', seq: trusted({ $gt: seq }) })
      .sort({ seq: 1 })
      .lean<MessageRecord>()
      .exec();
  }

  countUserMessagesAfter(sessionId: string, seq: number): Promise<number> {
    return this.model.countDocuments({ sessionId, sender: 'user', seq: trusted({ $gt: seq }) }).exec();
  }
}
