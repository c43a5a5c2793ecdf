import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model } from 'mongoose';
import { ReplyAnnouncementDoc } from './schemas/reply-announcement.schema';
import { isDuplicateKey } from './session.repository';

/** The claims of replies' terminal events: inserted once each, never updated. */
@Injectable()
export class ReplyAnnouncementRepository {
  constructor(@InjectModel(ReplyAnnouncementDoc.name) private readonly model: Model<ReplyAnnouncementDoc>) {}

  /** True for the one turn whose insert made the claim, also when it asks again after a lost answer. */
  async claim(sessionId: string, replyId: string, turnId: string): Promise<boolean> {
    try {
      await this.model.collection.insertOne({ _id: replyId, sessionId, turnId, at: new Date() } as never);
      return true;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      return (await this.model.exists({ _id: replyId, turnId })) !== null;
    }
  }

  async deleteForSession(sessionId: string): Promise<number> {
    return (await this.model.deleteMany({ sessionId })).deletedCount;
  }
}
