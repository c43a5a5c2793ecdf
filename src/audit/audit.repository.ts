import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model } from 'mongoose';
import type { AuditRecord } from './audit-record';
import { AuditRecordDoc } from './schemas/audit-record.schema';

/** The audit collection, written only by inserts: records are never updated or deleted here. */
@Injectable()
export class AuditRepository {
  constructor(@InjectModel(AuditRecordDoc.name) private readonly model: Model<AuditRecordDoc>) {}

  /**
   * The record with the highest `_id`. FerretDB v1 sorts in its own memory after reading the whole
   * collection, so callers do this once and then follow the chain by `_id`.
   */
  newest(): Promise<AuditRecord | null> {
    return this.model.findOne().sort({ _id: -1 }).lean<AuditRecord>().exec();
  }

  /** An equality lookup on `_id`, the one query FerretDB v1 hands to its backend. */
  findBySeq(seq: number): Promise<AuditRecord | null> {
    return this.model.findById(seq).lean<AuditRecord>().exec();
  }

  /** Fails with a duplicate key error (11000) when another writer took the record's `_id` first. */
  async insert(record: AuditRecord): Promise<void> {
    await this.model.create(record);
  }
}
