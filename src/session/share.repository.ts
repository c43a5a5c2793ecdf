import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model } from 'mongoose';
import { ShareDoc } from './schemas/share.schema';

export type ShareRecord = ShareDoc;

@Injectable()
export class ShareRepository {
  constructor(@InjectModel(ShareDoc.name) private readonly model: Model<ShareDoc>) {}

  async create(share: ShareRecord): Promise<void> {
    await this.model.create(share);
  }

  findByTokenHash(tokenHash: string): Promise<ShareRecord | null> {
    return this.model.findOne({ tokenHash }).lean<ShareRecord>().exec();
  }

  listForSession(sessionId: string): Promise<ShareRecord[]> {
    return this.model.find({ sessionId }).sort({ createdAt: -1 }).limit(100).lean<ShareRecord[]>().exec();
  }

  async revoke(sessionId: string, shareId: string, now: Date): Promise<boolean> {
    const result = await this.model.updateOne({ _id: shareId, sessionId }, { $set: { revokedAt: now } });
    return result.matchedCount === 1;
  }

  async deleteForSession(sessionId: string): Promise<number> {
    return (await this.model.deleteMany({ sessionId })).deletedCount;
  }
}
