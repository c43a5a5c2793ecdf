/**
 * Who runs the AI turn of a session, cluster-wide: one claim per session at a time, with a TTL
 * the holder renews, so a dead replica's claim expires. Stop requests reach whichever replica runs it.
 */
export abstract class GenerationRegistryStore {
  abstract claim(sessionId: string, owner: string, ttlMs: number): Promise<boolean>;
  abstract renew(sessionId: string, owner: string, ttlMs: number): Promise<boolean>;
  abstract release(sessionId: string, owner: string): Promise<void>;
  abstract requestStop(sessionId: string): Promise<void>;
  abstract onStop(handler: (sessionId: string) => void): void;
}
