import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model } from 'mongoose';
import { OwnerChangeDoc } from './schemas/owner-change.schema';
import { isDuplicateKey } from './session.repository';

export type OwnerChange = OwnerChangeDoc;

/** The changes of sessions' owners: inserted once each, never updated. */
@Injectable()
export class OwnerChangeRepository {
  constructor(@InjectModel(OwnerChangeDoc.name) private readonly model: Model<OwnerChangeDoc>) {}

  /** Records the change to its epoch: true only for the one insert that made it. */
  async insert(change: OwnerChange): Promise<boolean> {
    try {
      await this.model.collection.insertOne(change as never);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  find(sessionId: string, epoch: number): Promise<OwnerChange | null> {
    return this.model.findById(`${sessionId}:${epoch}`).lean<OwnerChange>().exec();
  }

  async deleteForSession(sessionId: string): Promise<number> {
    return (await this.model.deleteMany({ sessionId })).deletedCount;
  }
}
