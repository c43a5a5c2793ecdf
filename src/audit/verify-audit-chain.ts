import { type Model, mongo } from 'mongoose';
import { canonicalJson, GENESIS_HASH, hashAuditRecord } from './audit-record';
import type { AuditRecordDoc } from './schemas/audit-record.schema';

export type AuditProblemKind = 'hash_mismatch' | 'broken_link' | 'missing';

export interface AuditProblem {
  /** The record's `_id` (for `missing`, the first absent one). */
  seq: number;
  kind: AuditProblemKind;
  detail: string;
}

export interface AuditChainReport {
  ok: boolean;
  /** Records read. */
  checked: number;
  /** At most `maxProblems`, in chain order. */
  problems: AuditProblem[];
  /** The last record read: keeping its hash elsewhere lets a later run tell whether the chain was rewritten or cut. */
  head: { seq: number; hash: string } | null;
}

export interface VerifyAuditOptions {
  pageSize?: number;
  maxProblems?: number;
}

// As read, not as the schema says: a tampered record may hold anything, even an _id that is not a number.
type StoredRecord = { _id: number; prevHash: unknown; hash: unknown; [field: string]: unknown };

/**
 * Walks the audit log in `_id` order, a page at a time, recomputing every hash and checking that each
 * record names its predecessor's hash and that the `_id`s run 1, 2, 3 … without a gap. Records are read
 * with the driver, not the schema, so a field added or changed behind the application's back counts.
 *
 * What the chain alone cannot show: records deleted from the end (the shorter chain is still whole), and
 * a chain rewritten from some record on with fresh hashes (they are unkeyed sha256, so anyone able to
 * write the collection can recompute them). Both show only against a head hash kept somewhere else.
 */
export async function verifyAuditChain<T extends mongo.Document>(
  source: Model<AuditRecordDoc> | mongo.Collection<T>,
  { pageSize = 500, maxProblems = 100 }: VerifyAuditOptions = {},
): Promise<AuditChainReport> {
  const collection = (await rawCollection(source)) as unknown as mongo.Collection<StoredRecord>;
  const problems: AuditProblem[] = [];
  const report = (problem: AuditProblem) => {
    if (problems.length < maxProblems) problems.push(problem);
  };
  let checked = 0;
  let previous: { seq: number; hash: unknown } | null = null;
  // One cursor fetching `pageSize` records a round trip, so only a page is held here. Range queries per page
  // would be no lighter for the server: FerretDB v1 passes neither `$gt` nor a sort to its backend.
  const cursor = collection.find().sort({ _id: 1 }).batchSize(pageSize);
  try {
    for await (const record of cursor) {
      checked++;
      const seq = record._id;
      if (!Number.isInteger(seq)) {
        const after = previous?.seq ?? 0;
        const detail = `_id ${canonicalJson(seq)} is not a position in the chain (it sorts after record ${after})`;
        report({ seq: after, kind: 'broken_link', detail });
        continue;
      }
      const expected = (previous?.seq ?? 0) + 1;
      if (seq > expected) {
        const which = seq - expected === 1 ? `record ${expected} is` : `records ${expected} to ${seq - 1} are`;
        report({ seq: expected, kind: 'missing', detail: `${which} missing` });
      }
      if (seq === 1 && record.prevHash !== GENESIS_HASH) {
        report({ seq, kind: 'broken_link', detail: `prevHash of the first record is not ${GENESIS_HASH}` });
      } else if (previous && previous.seq === seq - 1 && record.prevHash !== previous.hash) {
        report({ seq, kind: 'broken_link', detail: `prevHash does not match the hash of record ${previous.seq}` });
      }
      const hash = hashAuditRecord(record);
      if (record.hash !== hash) {
        report({ seq, kind: 'hash_mismatch', detail: `stored hash ${String(record.hash)}, recomputed ${hash}` });
      }
      previous = { seq, hash: record.hash };
    }
  } finally {
    await cursor.close();
  }
  const head = previous ? { seq: previous.seq, hash: String(previous.hash) } : null;
  return { ok: problems.length === 0, checked, problems, head };
}

async function rawCollection<T extends mongo.Document>(
  source: Model<AuditRecordDoc> | mongo.Collection<T>,
): Promise<mongo.Collection<T> | mongo.Collection> {
  if (!('modelName' in source)) return source;
  const connection = await source.db.asPromise();
  return connection.db!.collection(source.collection.collectionName);
}
