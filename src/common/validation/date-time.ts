import { Matches } from 'class-validator';
import { AppError } from '../errors/app-error';

/** RFC 3339: a date, a time and a time zone, nothing left to the server's own zone. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/** A query parameter that must be an RFC 3339 date-time with a time zone; read it with `parseDateTime`. */
export const IsDateTime = (name: string) =>
  Matches(DATE_TIME, {
    message: `${name} must be an RFC 3339 date-time with a time zone, such as 2026-11-30T10:00:00Z`,
  });

/**
 * A date-time `IsDateTime` let through, read as a date, or `invalid_payload` naming `name` when no calendar
 * has it (2026-02-30, 25:00): JavaScript would roll those over into another day.
 */
export function parseDateTime(name: string, value: string): Date {
  const [year, month, day, hour, minute, second] = (
    /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?/.exec(value) ?? []
  )
    .slice(1)
    .map((part) => Number(part ?? 0));
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    throw new AppError('invalid_payload', `${name} is not a date on the calendar`);
  }
  return new Date(value);
}

/** Optional `from` and `to`, read, with `from` before `to`. */
export function parseRange(from?: string, to?: string): { from?: Date; to?: Date } {
  const range = {
    from: from === undefined ? undefined : parseDateTime('from', from),
    to: to === undefined ? undefined : parseDateTime('to', to),
  };
  if (range.from && range.to && range.from.getTime() >= range.to.getTime()) {
    throw new AppError('invalid_payload', 'from must be before to');
  }
  return range;
}
