import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, trusted } from 'mongoose';
import { FileDoc } from './schemas/file.schema';

export type FileRecord = FileDoc;

/** Stored and not deleted. */
const live = () => ({ pending: trusted({ $ne: true }), deletedAt: null });

/** File records; every change is a conditional update of one document. */
@Injectable()
export class FileRepository {
  constructor(@InjectModel(FileDoc.name) private readonly model: Model<FileDoc>) {}

  async insert(record: FileRecord): Promise<void> {
    await this.model.collection.insertOne(record as never);
  }

  /** A file stored and not deleted, or null. */
  findLive(id: string): Promise<FileRecord | null> {
    return this.model
      .findOne({ _id: id, ...live() })
      .lean<FileRecord>()
      .exec();
  }

  /** Records that the object was written: false when the record is gone meanwhile (erased with its owner). */
  async markStored(id: string): Promise<boolean> {
    const result = await this.model.updateOne({ _id: id, pending: true }, { $set: { pending: false } });
    return result.matchedCount === 1;
  }

  /** Records made before `before` whose object was never confirmed written: an upload cut short. */
  findUnstored(before: Date, limit: number): Promise<FileRecord[]> {
    return this.model
      .find({ pending: true, createdAt: trusted({ $lt: before }) })
      .limit(limit)
      .lean<FileRecord[]>()
      .exec();
  }

  /** Records, deleted or not, of files uploaded before `before` and never sent in a message. */
  findUnsent(before: Date, limit: number): Promise<FileRecord[]> {
    return this.model
      .find({ sessionId: null, createdAt: trusted({ $lt: before }) })
      .limit(limit)
      .lean<FileRecord[]>()
      .exec();
  }

  /** Marks a file deleted only while it is still unsent: false when a message took it meanwhile. */
  async markUnsentDeleted(id: string, at: Date): Promise<boolean> {
    const result = await this.model.updateOne({ _id: id, sessionId: null }, { $set: { deletedAt: at } });
    return result.matchedCount === 1;
  }

  /** The bytes of the owner's files not deleted, uploads being stored included. */
  async usedBytes(ownerId: string): Promise<number> {
    const [row] = await this.model
      .aggregate<{ bytes: number }>([
        { $match: { ownerId, deletedAt: null } },
        { $group: { _id: null, bytes: { $sum: '$size' } } },
      ])
      .exec();
    return row?.bytes ?? 0;
  }

  /**
   * Ties the owner's live file to the session, unless it already belongs to another one: true when the
   * file is (now or already) the owner's in that session.
   */
  async attach(id: string, ownerId: string, sessionId: string): Promise<boolean> {
    const result = await this.model.updateOne(
      { _id: id, ownerId, ...live(), sessionId: trusted({ $in: [null, sessionId] }) },
      { $set: { sessionId } },
    );
    return result.matchedCount === 1;
  }

  /** Records, deleted or not, of the files sent in a session, or of every file a user uploaded. */
  findForErasure(where: { sessionId: string } | { ownerId: string }, limit: number): Promise<FileRecord[]> {
    return this.model.find(where).limit(limit).lean<FileRecord[]>().exec();
  }

  /** The owner's live files, oldest first, a page after `afterId` (by id). */
  findLiveOfOwner(ownerId: string, limit: number, afterId?: string): Promise<FileRecord[]> {
    return this.model
      .find({ ownerId, ...live(), ...(afterId ? { _id: trusted({ $gt: afterId }) } : {}) })
      .sort({ _id: 1 })
      .limit(limit)
      .lean<FileRecord[]>()
      .exec();
  }

  /** Removes a record whose object is gone. */
  async remove(id: string): Promise<void> {
    await this.model.deleteOne({ _id: id });
  }

  /** Marks the owner's file deleted; the record stays (messages keep naming it). */
  async markDeleted(id: string, ownerId: string, at: Date): Promise<void> {
    await this.model.updateOne({ _id: id, ownerId, deletedAt: null }, { $set: { deletedAt: at } });
  }
}
