export interface StopSignal {
  turnId: string;
  /** Why (a session's stop reason: stopped, session_ended, owner_changed, abandoned). */
  reason: string;
}

/**
 * Fast delivery of stop requests to whichever replica runs a turn. Best effort: the lease record
 * carries the same request, and the runner reads it when it renews, so a lost signal only delays a stop.
 */
export abstract class TurnSignalStore {
  abstract publishStop(signal: StopSignal): Promise<void>;
  /** Resolves once the handler hears every signal published from then on. */
  abstract onStop(handler: (signal: StopSignal) => void): Promise<void>;
}
