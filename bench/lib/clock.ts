import { performance } from 'node:perf_hooks';

/**
 * Wall-clock milliseconds with sub-millisecond resolution. Every process on the machine reads the same
 * system clock here, so a time stamped by the upstream can be compared with an arrival in the load client.
 */
export const wallMs = (): number => performance.timeOrigin + performance.now();

/** A token's due time as its text: 0.1 ms units since the run's epoch, in base 36 (5–6 characters). */
export function encodeStamp(epochMs: number, dueMs: number): string {
  return Math.round((dueMs - epochMs) * 10).toString(36);
}

export function decodeStamp(epochMs: number, stamp: string): number {
  return epochMs + parseInt(stamp, 36) / 10;
}
