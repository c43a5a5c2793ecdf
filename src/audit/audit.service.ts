import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../common/errors/app-error';
import { type AuditEntry, type AuditRecord, nextAuditRecord } from './audit-record';
import { AuditQuery, AuditRepository } from './audit.repository';

// How many inserts `record` may lose to other replicas before it gives up.
const ATTEMPTS = 20;
const BASE_DELAY_MS = 5;
const MAX_DELAY_MS = 100;
// Past this many records stored elsewhere since this replica's last append, reading the head is cheaper.
const MAX_WALK = 16;

type ChainHead = Pick<AuditRecord, '_id' | 'hash'>;

/**
 * Appends to the hash-chained audit log. The chain is ordered by unique inserts alone (FerretDB has no
 * transactions and no atomic read-then-write): a record takes `_id` head + 1, and of two writers that
 * read the same head only one insert succeeds, so the chain stays one line with any number of replicas.
 */
@Injectable()
export class AuditService {
  // The newest record this replica knows to be stored (null: the log is empty; undefined: not read yet).
  private head: ChainHead | null | undefined;
  // Appends in one process go one at a time, so they race only other replicas, never each other.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly repository: AuditRepository) {}

  /**
   * Stores `entry` as the record after the current head. Losing the race for a place (a duplicate `_id`)
   * is retried; any other error, transient or not, is the caller's to handle.
   */
  record(entry: AuditEntry): Promise<AuditRecord> {
    const appended = this.queue.then(() => this.append(entry));
    this.queue = appended.catch(() => undefined);
    return appended;
  }

  /** A page of the log, newest first; `nextBefore` continues it (null on the last page). */
  async page(query: AuditQuery): Promise<{ records: AuditRecord[]; nextBefore: number | null }> {
    const records = await this.repository.find({ ...query, limit: query.limit + 1 });
    const page = records.slice(0, query.limit);
    return { records: page, nextBefore: records.length > query.limit ? (page.at(-1)?._id ?? null) : null };
  }

  private async append(entry: AuditEntry): Promise<AuditRecord> {
    for (let attempt = 1; ; attempt++) {
      if (this.head === undefined) this.head = await this.repository.newest();
      const record = nextAuditRecord(this.head, entry, new Date());
      try {
        await this.repository.insert(record);
        this.head = record;
        return record;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      if (attempt === ATTEMPTS) {
        throw new AppError('busy', `The audit log stayed contended for ${ATTEMPTS} attempts; nothing was recorded`, {
          action: entry.action,
          sessionId: entry.sessionId,
        });
      }
      this.head = await this.headFrom(record._id);
      // Full jitter, so that replicas which collided do not collide again in step.
      await sleep(Math.random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt));
    }
  }

  /** The head, knowing that record `seq` was just stored by another writer: it or one stored after it. */
  private async headFrom(seq: number): Promise<ChainHead | null> {
    let head = await this.repository.findBySeq(seq);
    for (let step = 0; head && step < MAX_WALK; step++) {
      const next = await this.repository.findBySeq(head._id + 1);
      if (!next) return head;
      head = next;
    }
    return this.repository.newest();
  }
}

function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 11000;
}
