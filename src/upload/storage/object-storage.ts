import type { Readable } from 'node:stream';

/** How a download presents the file: its type, and a name to save it under (`attachment`) or `inline` (images only). */
export interface DownloadOptions {
  name: string;
  type: string;
  inline: boolean;
  ttlS: number;
}

/**
 * Where file bytes live. Keys are the server's own (never derived from a name); a stored object is
 * never changed, only deleted. Downloads go through short-lived signed URLs, never the app's token.
 */
export abstract class ObjectStorage {
  /** Moves a complete, checked file from the staging area into storage under `key`. */
  abstract put(key: string, stagedPath: string, meta: { type: string; size: number; sha256: string }): Promise<void>;
  /** The object's bytes, read by the server itself (the user's export). */
  abstract read(key: string): Promise<Readable>;
  /** Idempotent: deleting what is not there succeeds. */
  abstract delete(key: string): Promise<void>;
  /** A URL that serves the object for `ttlS` seconds, absolute or under the app's prefix. */
  abstract downloadUrl(key: string, options: DownloadOptions): Promise<string>;
}
