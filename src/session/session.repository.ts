import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, QueryFilter, trusted } from 'mongoose';
import { OwnerChangeDoc } from './schemas/owner-change.schema';
import {
  AdminHold,
  AdminSort,
  HelpRequest,
  SESSION_FIELDS_VERSION,
  SessionDoc,
  SessionOwner,
  SessionStatus,
} from './schemas/session.schema';

export type SessionRecord = SessionDoc;

export interface SessionCursor {
  lastActivityAt: Date;
  id: string;
}

/** What administrators can filter the session list on; every field optional. */
export interface AdminSessionFilter {
  userId?: string;
  status?: SessionStatus;
  /** `ai`, `admin` (any administrator), or `admin:<id>`. */
  owner?: SessionOwner | 'admin';
  assisted?: boolean;
  /** Whether the session has had any request for a human. */
  helpRequested?: boolean;
  modelId?: string;
  /** On the start time: at or after `from`, before `to`. */
  from?: Date;
  to?: Date;
  /** The name's blind-index entries to look for (any of them: one per configured key). */
  nameLookups?: string[];
}

/** The last session of a page: its value of the sort field, and its id (ties are broken by id). */
export interface AdminListCursor {
  value: Date | number | string;
  id: string;
}

/**
 * The query of one page of the administrators' list. Exported so the index test explains exactly what the
 * list runs. Sorted on `(sort, _id)`, which one index serves; the cursor continues strictly after the last
 * session seen, so sessions inserted between requests cause neither duplicates nor gaps.
 */
export function adminListQuery(
  where: AdminSessionFilter,
  sort: AdminSort,
  order: 'asc' | 'desc',
  after?: AdminListCursor,
): { filter: QueryFilter<SessionDoc>; sort: Record<string, 1 | -1> } {
  // Flat, with equality wherever the meaning allows: FerretDB pushes top-level equality (and $ne) down to
  // its backend, not $and, ranges or $in; MongoDB plans both forms alike.
  const filter: QueryFilter<SessionDoc> = {};
  const equal = { userId: where.userId, status: where.status, assisted: where.assisted, modelId: where.modelId };
  for (const [field, value] of Object.entries(equal))
    if (value !== undefined) Object.assign(filter, { [field]: value });
  if (where.owner !== undefined) filter.owner = where.owner === 'admin' ? trusted({ $ne: 'ai' }) : where.owner;
  // `helpRequests` is a count, always present: "not 0" is "more than 0".
  if (where.helpRequested !== undefined) filter.helpRequests = where.helpRequested ? trusted({ $ne: 0 }) : 0;
  if (where.from || where.to) {
    filter.startedAt = trusted({ ...(where.from && { $gte: where.from }), ...(where.to && { $lt: where.to }) });
  }
  if (where.nameLookups) {
    filter.nameIndex = where.nameLookups.length === 1 ? where.nameLookups[0] : trusted({ $in: where.nameLookups });
  }
  const past = order === 'asc' ? '$gt' : '$lt';
  if (after) {
    filter.$or = [
      { [sort]: trusted({ [past]: after.value }) },
      { [sort]: after.value, _id: trusted({ [past]: after.id }) },
    ];
  }
  const direction = order === 'asc' ? 1 : -1;
  return { filter, sort: { [sort]: direction, _id: direction } };
}

/**
 * The sessions the boot upgrade reads: any `fieldsVersion` but this one, which also matches those without
 * the field. Exported so a test explains it. `$ne` on the `fieldsVersion` index: on MongoDB a bounded index
 * scan, which reads no session once all are upgraded; FerretDB pushes it down to its backend.
 */
export function outdatedSortFields(): QueryFilter<SessionDoc> {
  return { fieldsVersion: trusted({ $ne: SESSION_FIELDS_VERSION }) };
}

/** What a finished turn adds to its session's counters. */
export interface TurnStats {
  tokens: { prompt: number; completion: number };
  responseMs: number;
  turnMs: number;
}

function addStats(stats: TurnStats) {
  return {
    $inc: {
      'tokens.prompt': stats.tokens.prompt,
      'tokens.completion': stats.tokens.completion,
      totalTokens: stats.tokens.prompt + stats.tokens.completion,
      'responseTime.count': 1,
      'responseTime.sumMs': stats.responseMs,
      'turnTime.count': 1,
      'turnTime.sumMs': stats.turnMs,
    },
    $max: { 'responseTime.maxMs': stats.responseMs, 'turnTime.maxMs': stats.turnMs },
  };
}

export function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: number } | null)?.code === 11000;
}

/** Indexes earlier versions created on sessions and nothing reads now (each costs every write), by name. */
const OBSOLETE_INDEXES = ['startedAt_-1', 'lease.expiresAt_1', 'status_1_helpOpen_-1_lastActivityAt_-1'];
/** IndexNotFound, and NamespaceNotFound (no collection yet). */
const NOTHING_TO_DROP = [27, 26];

/** Sessions, changed only through conditional single-document updates; every read is scoped by id or owner. */
@Injectable()
export class SessionRepository {
  constructor(@InjectModel(SessionDoc.name) private readonly model: Model<SessionDoc>) {}

  /** Drops the obsolete indexes present; the names of those it dropped. */
  async dropObsoleteIndexes(): Promise<string[]> {
    const dropped: string[] = [];
    for (const name of OBSOLETE_INDEXES) {
      try {
        await this.model.collection.dropIndex(name);
        dropped.push(name);
      } catch (error) {
        // Never created on this database, or dropped already (by another replica booting too).
        if (!NOTHING_TO_DROP.includes((error as { code?: number }).code as number)) throw error;
      }
    }
    return dropped;
  }

  /** Sessions stored before owners and leases existed belong to the AI and hold no lease. */
  async upgradeLegacy(): Promise<void> {
    await this.model.updateMany({ owner: trusted({ $exists: false }) }, { $set: { owner: 'ai', epoch: 0 } });
    await this.model.updateMany(
      { helpOpen: trusted({ $exists: false }) },
      { $set: { helpOpen: false, helpRequests: 0, rev: 0 } },
    );
    await this.model.updateMany(
      { aiHelpAsked: trusted({ $exists: false }) },
      { $set: { aiHelpAsked: false, hold: null } },
    );
  }

  /**
   * Sessions without the fields this version sorts and searches on, a batch at a time: stored by an earlier
   * version, or created by a replica of one during a rollout (whose totals a newer replica's `$inc` may have
   * started from 0). `fieldsVersion` marks the upgrade done; only creation and the upgrade write it.
   * Up to `limit` of them in `_id` order after `after`, with the `_id` to read on from; sessions a later
   * version marked (a rollback) are left to it: passed over, not returned.
   */
  async findWithoutSortFields(
    limit: number,
    after?: string,
  ): Promise<{ sessions: SessionRecord[]; next: string | undefined }> {
    const filter =
      after === undefined ? outdatedSortFields() : { ...outdatedSortFields(), _id: trusted({ $gt: after }) };
    const batch = await this.model.find(filter).sort({ _id: 1 }).limit(limit).lean<SessionRecord[]>().exec();
    return {
      sessions: batch.filter((session) => (session.fieldsVersion ?? 0) < SESSION_FIELDS_VERSION),
      next: batch.length < limit ? undefined : batch[batch.length - 1]._id,
    };
  }

  /**
   * Writes the sort and search fields from the session's own figures and name, whatever partial values are
   * there. Conditional on what they were computed from, so a session a reply counted, named or ended in the
   * meantime is left for the next pass.
   */
  async setSortFields(session: SessionRecord, nameIndex: string[]): Promise<boolean> {
    const ended = session.endedAt ? new Date(session.endedAt).getTime() : undefined;
    const result = await this.model.updateOne(
      {
        _id: session._id,
        fieldsVersion: session.fieldsVersion ?? trusted({ $exists: false }),
        status: session.status,
        name: session.name ?? trusted({ $exists: false }),
        'tokens.prompt': session.tokens?.prompt ?? 0,
        'tokens.completion': session.tokens?.completion ?? 0,
      },
      {
        $set: {
          totalTokens: (session.tokens?.prompt ?? 0) + (session.tokens?.completion ?? 0),
          durationMs: ended === undefined ? 0 : ended - new Date(session.startedAt).getTime(),
          nameIndex,
          fieldsVersion: SESSION_FIELDS_VERSION,
        },
      },
    );
    return result.modifiedCount === 1;
  }

  /** Opens a help request on an active session that has none open: the session after, or null. */
  openHelp(id: string, request: HelpRequest): Promise<SessionRecord | null> {
    return this.model
      .findOneAndUpdate(
        // Not `false`: a session a replica of an older version created has no such field yet.
        { _id: id, status: 'active', helpOpen: trusted({ $ne: true }) },
        { $set: { helpOpen: true, help: request }, $inc: { helpRequests: 1, rev: 1 } },
        { returnDocument: 'after' },
      )
      .lean<SessionRecord>()
      .exec();
  }

  /** Closes the open help request: the session after, or null when none was open. */
  closeHelp(id: string, closedBy: string, now: Date): Promise<SessionRecord | null> {
    return this.model
      .findOneAndUpdate(
        { _id: id, helpOpen: true },
        { $set: { helpOpen: false, 'help.closedAt': now, 'help.closedBy': closedBy }, $inc: { rev: 1 } },
        { returnDocument: 'after' },
      )
      .lean<SessionRecord>()
      .exec();
  }

  async create(session: SessionRecord): Promise<void> {
    await this.model.create(session);
  }

  findById(id: string): Promise<SessionRecord | null> {
    return this.model.findById(id).lean<SessionRecord>().exec();
  }

  findActiveForUser(userId: string): Promise<SessionRecord | null> {
    return this.model.findOne({ activeKey: userId }).lean<SessionRecord>().exec();
  }

  /**
   * Ends the session if it is still active — and, for the sweeper, only if no replica has seen it
   * since `unseenSince` — so a device that came back in the meantime keeps it. True only for the caller that ended it.
   */
  async end(session: SessionRecord, now: Date, unseenSince?: Date): Promise<boolean> {
    const result = await this.model.updateOne(
      {
        _id: session._id,
        status: 'active',
        ...(unseenSince ? { lastSeenAt: trusted({ $lt: unseenSince }) } : {}),
      },
      {
        $set: {
          status: 'ended',
          activeKey: `ended:${session._id}`,
          endedAt: now,
          durationMs: now.getTime() - new Date(session.startedAt).getTime(),
          // An ended session asks nobody for help any more.
          helpOpen: false,
        },
        $inc: { rev: 1 },
      },
    );
    return result.modifiedCount === 1;
  }

  /**
   * The next seq of an active session, or of any for a reply already under way (`evenIfEnded`). A
   * message from a device also marks the session seen; a reply, which needs no device, does not, and
   * adds its turn's figures in the same write.
   */
  async allocateSeq(id: string, now: Date, evenIfEnded = false, stats?: TurnStats): Promise<number | undefined> {
    const seen = evenIfEnded ? {} : { $set: { lastSeenAt: now } };
    const figures = stats && addStats(stats);
    const doc = await this.model
      .findOneAndUpdate(
        evenIfEnded ? { _id: id } : { _id: id, status: 'active' },
        {
          $inc: { lastSeq: 1, messageCount: 1, ...figures?.$inc },
          ...seen,
          // Never back in time when two writes race: the usage figures rely on every message of a session
          // being at or before its lastActivityAt.
          $max: { lastActivityAt: now, lastMessageAt: now, ...figures?.$max },
        },
        { returnDocument: 'after' },
      )
      .lean<{ lastSeq: number }>()
      .exec();
    return doc?.lastSeq;
  }

  /** A seq taken by a write that turned out to be a duplicate stores no message (nor counts its turn). */
  async uncount(id: string, stats?: TurnStats): Promise<void> {
    const taken = stats ? addStats(stats).$inc : {};
    const back = Object.fromEntries(Object.entries({ messageCount: 1, ...taken }).map(([k, v]) => [k, -v]));
    await this.model.updateOne({ _id: id }, { $inc: back });
  }

  async setNameIfUnset(id: string, encryptedName: string, nameIndex: string[]): Promise<void> {
    await this.model.updateOne(
      { _id: id, name: trusted({ $exists: false }) },
      { $set: { name: encryptedName, nameIndex } },
    );
  }

  async setModel(id: string, modelId: string): Promise<boolean> {
    const result = await this.model.updateOne({ _id: id, status: 'active' }, { $set: { modelId } });
    return result.matchedCount === 1;
  }

  findActiveByIds(ids: string[]): Promise<SessionRecord[]> {
    return this.model
      .find({ _id: trusted({ $in: ids }), status: 'active' })
      .lean<SessionRecord[]>()
      .exec();
  }

  /** Active sessions, those asking for help first, then the most recently active. */
  findActive(limit: number): Promise<SessionRecord[]> {
    return this.model
      .find({ status: 'active' })
      .sort({ helpOpen: -1, lastActivityAt: -1, _id: 1 })
      .limit(limit)
      .lean<SessionRecord[]>()
      .exec();
  }

  /** Active sessions with a help request open, in no particular order: their ids only. */
  findOpenHelp(limit: number): Promise<Pick<SessionRecord, '_id'>[]> {
    return this.model
      .find({ status: 'active', helpOpen: true }, { _id: 1 })
      .limit(limit)
      .lean<Pick<SessionRecord, '_id'>[]>()
      .exec();
  }

  countActive(): Promise<number> {
    return this.model.countDocuments({ status: 'active' }).exec();
  }

  async setProviderConversation(id: string, conversationId: string): Promise<void> {
    await this.model.updateOne({ _id: id }, { $set: { providerConversationId: conversationId } });
  }

  async markSeen(ids: string[], now: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.model.updateMany({ _id: trusted({ $in: ids }), status: 'active' }, { $set: { lastSeenAt: now } });
  }

  findUnseenSince(before: Date, limit: number): Promise<SessionRecord[]> {
    return this.model
      .find({ status: 'active', lastSeenAt: trusted({ $lt: before }) })
      .limit(limit)
      .lean<SessionRecord[]>()
      .exec();
  }

  /** One page of the administrators' list (see adminListQuery). */
  findForAdmin(
    where: AdminSessionFilter,
    sort: AdminSort,
    order: 'asc' | 'desc',
    limit: number,
    after?: AdminListCursor,
  ): Promise<SessionRecord[]> {
    const query = adminListQuery(where, sort, order, after);
    return this.model.find(query.filter).sort(query.sort).limit(limit).lean<SessionRecord[]>().exec();
  }

  countForAdmin(where: AdminSessionFilter): Promise<number> {
    return this.model.countDocuments(adminListQuery(where, 'startedAt', 'asc').filter).exec();
  }

  /** Most recent activity first; the cursor keeps pages stable while new sessions appear. */
  listForUser(userId: string, limit: number, after?: SessionCursor): Promise<SessionRecord[]> {
    const filter = after
      ? {
          userId,
          $or: [
            { lastActivityAt: trusted({ $lt: after.lastActivityAt }) },
            { lastActivityAt: after.lastActivityAt, _id: trusted({ $lt: after.id }) },
          ],
        }
      : { userId };
    return this.model.find(filter).sort({ lastActivityAt: -1, _id: -1 }).limit(limit).lean<SessionRecord[]>().exec();
  }

  /**
   * Writes a recorded change of owner to the session unless a later one is already there. Idempotent:
   * the winner of the change writes it, and so may anyone who finds it recorded but not yet written.
   */
  async applyOwnerChange(change: OwnerChangeDoc, hold: AdminHold | null): Promise<void> {
    await this.model.updateOne(
      { _id: change.sessionId, epoch: trusted({ $lt: change.epoch }) },
      {
        // A takeover is an administrator answering: the AI may ask for a human again after it.
        $set: {
          owner: change.owner,
          epoch: change.epoch,
          hold,
          ...(hold ? { assisted: true, aiHelpAsked: false } : {}),
        },
        $inc: { rev: 1 },
      },
    );
  }

  /** Active sessions an administrator holds (few: each needs a person). */
  findHeld(limit: number): Promise<SessionRecord[]> {
    return this.model
      .find({ owner: trusted({ $ne: 'ai' }), status: 'active' })
      .limit(limit)
      .lean<SessionRecord[]>()
      .exec();
  }

  /** The administrators' sockets are connected: their sessions are held, and seen. */
  async touchHolds(adminIds: string[], now: Date): Promise<void> {
    if (adminIds.length === 0) return;
    await this.model.updateMany(
      { owner: trusted({ $in: adminIds.map((id): SessionOwner => `admin:${id}`) }), status: 'active' },
      { $set: { 'hold.seenAt': now, lastSeenAt: now } },
    );
  }

  /** The holder wrote: it is not idle, and the AI may ask for a human again. */
  async adminWrote(id: string, owner: SessionOwner, now: Date): Promise<void> {
    await this.model.updateOne({ _id: id, owner }, { $set: { 'hold.wroteAt': now, aiHelpAsked: false } });
  }

  /** Marks that the AI asked for a human; false when it already had, and no administrator has answered since. */
  async markAiHelpAsked(id: string): Promise<boolean> {
    const result = await this.model.updateOne(
      { _id: id, aiHelpAsked: trusted({ $ne: true }) },
      { $set: { aiHelpAsked: true } },
    );
    return result.modifiedCount === 1;
  }

  /** The ids of a batch of the user's sessions, any status (on the {userId, lastActivityAt, _id} index). */
  async idsOfUser(userId: string, limit: number): Promise<string[]> {
    const docs = await this.model.find({ userId }, { _id: 1 }).limit(limit).lean<Pick<SessionRecord, '_id'>[]>().exec();
    return docs.map((d) => d._id);
  }

  /** The ids of a batch of sessions ended before `cutoff`, the oldest first (on the {endedAt} index). */
  async idsEndedBefore(cutoff: Date, limit: number): Promise<string[]> {
    const docs = await this.model
      .find({ endedAt: trusted({ $lt: cutoff }) }, { _id: 1 })
      .sort({ endedAt: 1 })
      .limit(limit)
      .lean<Pick<SessionRecord, '_id'>[]>()
      .exec();
    return docs.map((d) => d._id);
  }

  async delete(id: string): Promise<number> {
    return (await this.model.deleteOne({ _id: id })).deletedCount;
  }
}
