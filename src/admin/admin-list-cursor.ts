import { AppError } from '../common/errors/app-error';
import { AdminListCursor, AdminSort } from '../session/session.service';

const DATE_SORTS: readonly AdminSort[] = ['startedAt', 'lastActivityAt'];
const NUMBER_SORTS: readonly AdminSort[] = ['durationMs', 'messageCount', 'totalTokens'];

/** The end of a page as the opaque `cursor` of the next request; it names its sort and order. */
export function encodeListCursor(sort: AdminSort, order: 'asc' | 'desc', cursor: AdminListCursor): string {
  const value = cursor.value instanceof Date ? cursor.value.toISOString() : cursor.value;
  return Buffer.from(JSON.stringify({ s: sort, o: order, v: value, id: cursor.id })).toString('base64url');
}

/** A cursor a client sent back, for the same sort and order; `invalid_payload` otherwise. */
export function decodeListCursor(text: string, sort: AdminSort, order: 'asc' | 'desc'): AdminListCursor {
  let parsed: { s?: unknown; o?: unknown; v?: unknown; id?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    throw new AppError('invalid_payload', 'cursor is not valid');
  }
  if (parsed?.s !== sort || parsed.o !== order) {
    throw new AppError('invalid_payload', 'cursor belongs to another sort or order: start again without it');
  }
  const { v, id } = parsed;
  if (typeof id !== 'string') throw new AppError('invalid_payload', 'cursor is not valid');
  if (DATE_SORTS.includes(sort)) {
    const date = new Date(typeof v === 'string' ? v : NaN);
    if (!Number.isNaN(date.getTime())) return { value: date, id };
  } else if (NUMBER_SORTS.includes(sort)) {
    if (typeof v === 'number' && Number.isFinite(v)) return { value: v, id };
  } else if (typeof v === 'string') {
    return { value: v, id };
  }
  throw new AppError('invalid_payload', 'cursor is not valid');
}
