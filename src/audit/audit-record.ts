import { createHash } from 'node:crypto';

/**
 * What an administrator (or the system on one's behalf) did to a session, or a user to their own data
 * (`user_erased`: every session of theirs deleted). New actions are added here only.
 */
export const AUDIT_ACTIONS = ['takeover', 'release', 'watch', 'transcript_view', 'end', 'user_erased'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_ACTOR_KINDS = ['admin', 'system', 'user'] as const;
export type AuditActorKind = (typeof AUDIT_ACTOR_KINDS)[number];

export interface AuditActor {
  kind: AuditActorKind;
  id: string;
  name?: string;
}

/** An administrator as the audit log names them. */
export const adminActor = (principal: { userId: string; name?: string }): AuditActor => ({
  kind: 'admin',
  id: principal.userId,
  ...(principal.name ? { name: principal.name } : {}),
});

/** Flat facts about an action, such as why a takeover was released. */
export type AuditDetails = Record<string, string | number | boolean>;

export interface AuditEntry {
  action: AuditAction;
  actor: AuditActor;
  /** The session acted on; absent for an action on a user's data as a whole (`user_erased`). */
  sessionId?: string;
  requestId: string;
  details?: AuditDetails;
}

/** One link of the chain: `_id` is its position (1, 2, 3 …), `hash` covers `prevHash` and every other field. */
export interface AuditRecord extends AuditEntry {
  _id: number;
  at: Date;
  prevHash: string;
  hash: string;
}

/** The prevHash of record 1. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON with object keys sorted at every level, dates as ISO strings and undefined members left out, so
 * a record hashes the same before it is stored and after it is read back (in any key order) by the verifier.
 */
export function canonicalJson(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value))
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    // BSON values a tampered record may hold (ObjectId, Long, Decimal128) serialize through their toJSON.
    const toJSON = (value as { toJSON?: () => unknown }).toJSON;
    if (typeof toJSON === 'function') return canonicalJson(toJSON.call(value));
    const members = Object.entries(value)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** sha256 (hex) of `prevHash` followed by the canonical JSON of every field but `prevHash` and `hash`. */
export function hashAuditRecord<T extends { prevHash: unknown }>(record: T): string {
  const fields: Record<string, unknown> = { ...record };
  delete fields.prevHash;
  delete fields.hash;
  return createHash('sha256').update(String(record.prevHash)).update(canonicalJson(fields)).digest('hex');
}

/** The record that follows `previous` (or starts the chain), as it is stored and hashed. */
export function nextAuditRecord(
  previous: Pick<AuditRecord, '_id' | 'hash'> | null,
  entry: AuditEntry,
  at: Date,
): AuditRecord {
  const actor: AuditActor = { kind: entry.actor.kind, id: entry.actor.id };
  if (entry.actor.name !== undefined) actor.name = entry.actor.name;
  // The database drops empty objects and would store undefined members as null: neither may reach the hash.
  const details = Object.fromEntries(Object.entries(entry.details ?? {}).filter(([, value]) => value !== undefined));
  const unhashed = {
    _id: (previous?._id ?? 0) + 1,
    at,
    action: entry.action,
    actor,
    sessionId: entry.sessionId,
    requestId: entry.requestId,
    ...(Object.keys(details).length > 0 ? { details } : {}),
    prevHash: previous?.hash ?? GENESIS_HASH,
  };
  return { ...unhashed, hash: hashAuditRecord(unhashed) };
}
