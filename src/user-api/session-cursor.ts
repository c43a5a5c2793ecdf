import { AppError } from '../common/errors/app-error';
import { SessionCursor } from '../session/session.service';

/** A page's end as the opaque `cursor` parameter of the next request. */
export function encodeCursor(cursor: SessionCursor): string {
  return Buffer.from(JSON.stringify({ t: new Date(cursor.lastActivityAt).toISOString(), id: cursor.id })).toString(
    'base64url',
  );
}

/** The cursor a client sent back; `invalid_payload` when it is not one of ours. */
export function decodeCursor(value: string): SessionCursor {
  try {
    const { t, id } = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as { t: unknown; id: unknown };
    const lastActivityAt = new Date(typeof t === 'string' ? t : NaN);
    if (typeof id !== 'string' || Number.isNaN(lastActivityAt.getTime())) throw new Error('bad cursor');
    return { lastActivityAt, id };
  } catch {
    throw new AppError('invalid_payload', 'cursor is not valid');
  }
}
