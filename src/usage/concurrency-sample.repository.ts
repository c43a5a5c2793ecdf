import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, trusted } from 'mongoose';
import { isDuplicateKey } from '../session/session.repository';
import type { TimeRange } from '../session/session-stats.service';
import { ConcurrencySampleDoc } from './schemas/concurrency-sample.schema';

export type ConcurrencySample = ConcurrencySampleDoc;

/** The concurrency time series: one document per slot, inserted once, read by time range, pruned by age. */
@Injectable()
export class ConcurrencySampleRepository {
  constructor(@InjectModel(ConcurrencySampleDoc.name) private readonly model: Model<ConcurrencySampleDoc>) {}

  async exists(slotId: string): Promise<boolean> {
    return (await this.model.exists({ _id: slotId }).exec()) !== null;
  }

  /** True only for the one insert that wrote the slot's sample. */
  async insert(sample: ConcurrencySample): Promise<boolean> {
    try {
      await this.model.collection.insertOne(sample as never);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  between({ from, to }: TimeRange): AsyncIterable<Pick<ConcurrencySample, 'at' | 'active'>> {
    return this.model
      .find({ at: trusted({ $gte: from, $lt: to }) }, { _id: 0, at: 1, active: 1 })
      .lean<Pick<ConcurrencySample, 'at' | 'active'>>()
      .cursor();
  }

  async prune(before: Date): Promise<number> {
    return (await this.model.deleteMany({ at: trusted({ $lt: before }) })).deletedCount;
  }
}
