import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors/app-error';

/** Deep enough for any body that passes the JSON parser's own limits (8 levels). */
const MAX_DEPTH = 16;

/**
 * The path of the first key in `value` that holds `$` or `.` (a MongoDB operator or a dotted path, never a
 * field of ours), or undefined. Arrays are walked, their indexes are not keys.
 */
export function operatorKey(value: unknown, path = '', depth = 0): string | undefined {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const here = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    if (!Array.isArray(value) && /[$.]/.test(key)) return here;
    const found = operatorKey(inner, here, depth + 1);
    if (found) return found;
  }
  return undefined;
}

const truncated = (key: string) => (key.length > 64 ? `${key.slice(0, 63)}…` : key);

/**
 * Refuses every HTTP request whose query or body has a key with `$` or `.` anywhere — the shape of a
 * MongoDB operator injection (`?filter[$ne]=`, `{ "a": { "$gt": "" } }`) — with 400 `invalid_payload`
 * naming it, whatever the route and before anything reads it.
 */
@Injectable()
export class OperatorKeysGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    for (const [where, value] of [
      ['query', request.query],
      ['body', request.body],
    ] as const) {
      const key = operatorKey(value);
      if (key) {
        throw new AppError(
          'invalid_payload',
          `${where} parameter "${truncated(key)}" is not allowed: keys may not hold "$" or "."`,
        );
      }
    }
    return true;
  }
}
