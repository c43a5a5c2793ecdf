import { createHmac, hkdfSync } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';

/** The shortest name prefix administrators can search for: shorter ones would sort sessions by first letters. */
export const NAME_QUERY_MIN = 3;
/** Names are at most 50 graphemes; prefixes beyond this many code points are not indexed. */
export const NAME_QUERY_MAX = 64;

/** Case and width folded, so `Refund`, `REFUND` and `ｒｅｆｕｎｄ` search alike. */
function fold(text: string): string[] {
  return Array.from(text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trimStart());
}

/**
 * Session names are encrypted, so the database cannot match a prefix of one. Each name is stored with a
 * blind index instead: a keyed hash (HMAC-SHA-256 under a key derived from the encryption key) of each of
 * its prefixes of NAME_QUERY_MIN to NAME_QUERY_MAX characters (case folded). A search hashes
 * its prefix under every configured key, so names indexed before a key rotation are still found. Someone
 * reading the database cannot read a name, but learns its length class (the number of entries) and which
 * sessions share a prefix, and can confirm a guessed one (see the README).
 */
@Injectable()
export class SessionNameIndex {
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(private readonly config: AppConfig) {
    this.keys = new Map(
      [...config.encryption.keys].map(([id, key]) => [
        id,
        Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'chatbox session name index v1', 32)),
      ]),
    );
  }

  /** The index entries of a name, under the active key. */
  entries(name: string): string[] {
    const chars = fold(name).slice(0, NAME_QUERY_MAX);
    const key = this.keys.get(this.config.encryption.activeKeyId) as Buffer;
    const entries: string[] = [];
    for (let n = NAME_QUERY_MIN; n <= chars.length; n++) entries.push(this.hash(key, chars.slice(0, n).join('')));
    return entries;
  }

  /** What a name beginning with `prefix` has among its entries, under each key. */
  lookups(prefix: string): string[] {
    const folded = fold(prefix).join('');
    return [...this.keys.values()].map((key) => this.hash(key, folded));
  }

  private hash(key: Buffer, text: string): string {
    return createHmac('sha256', key).update(text).digest('base64url').slice(0, 22);
  }
}
