import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, trusted } from 'mongoose';
import type { AuditRecord } from './audit-record';

/** Which records to read, newest first; every field is optional and all given ones must hold. */
export interface AuditQuery {
  sessionId?: string;
  /** The actor's id. */
  actor?: string;
  /** `at` on or after. */
  from?: Date;
  /** `at` before. */
  to?: Date;
  /** Records before this position (the page after one that ended there). */
  before?: number;
  limit: number;
}
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

  /** A page of records, newest first; the filters are values from validated parameters, never operators. */
  find(query: AuditQuery): Promise<AuditRecord[]> {
    const filter: Record<string, unknown> = {};
    if (query.sessionId !== undefined) filter.sessionId = query.sessionId;
    if (query.actor !== undefined) filter['actor.id'] = query.actor;
    if (query.from !== undefined || query.to !== undefined) {
      filter.at = trusted({
        ...(query.from !== undefined ? { $gte: query.from } : {}),
        ...(query.to !== undefined ? { $lt: query.to } : {}),
      });
    }
    if (query.before !== undefined) filter._id = trusted({ $lt: query.before });
    return this.model.find(filter).sort({ _id: -1 }).limit(query.limit).lean<AuditRecord[]>().exec();
  }

  /** Fails with a duplicate key error (11000) when another writer took the record's `_id` first. */
  async insert(record: AuditRecord): Promise<void> {
    await this.model.create(record);
  }
}
