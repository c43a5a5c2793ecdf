/** A finished reply as it will be stored: kept here first, so a reply the database refused is not lost. */
export interface FinishedReply {
  content: string;
  status: 'complete' | 'stopped' | 'interrupted' | 'failed';
  finishReason: string;
  /** The model that answered; unknown for a reply cut before its runner could say. */
  model?: string;
  usage?: { promptTokens: number; completionTokens: number; estimated: boolean };
  latency: { firstDeltaMs?: number; totalMs: number };
  /** What `ai:error` says, for a reply that did not end well. */
  error?: { code: string; message: string };
}

export interface TurnSnapshot {
  /** What was streamed so far — absent when the store lost frames (a restarted Redis) and cannot tell. */
  streamed?: { index: number; text: string };
  /** Present once the runner finished the reply, until it is stored. */
  finished?: FinishedReply;
}

/**
 * The text of each running reply, frame by frame, readable from any replica: a device that resumes
 * mid-reply gets what was said so far, and whoever settles a turn its runner could not finish
 * (it died, or the database refused it) finds the reply here.
 */
export abstract class TurnBufferStore {
  /** Starts an empty reply (`index` -1). */
  abstract open(turnId: string): Promise<void>;
  /**
   * Records frame `index`; its one writer sends frames in order and stops at the first failure. False,
   * with nothing kept, when the store no longer holds the reply (a restarted Redis lost it).
   */
  abstract append(turnId: string, index: number, text: string): Promise<boolean>;
  abstract finish(turnId: string, reply: FinishedReply): Promise<void>;
  abstract read(turnId: string): Promise<TurnSnapshot | undefined>;
  abstract discard(turnId: string): Promise<void>;
}
