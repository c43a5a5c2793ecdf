import type { Transcript } from '../chat/transcript';
import type { ProtocolError } from './protocol';
import { asProtocolError } from './ui';

/** What both pages' controllers hold: a transcript and the error on show. */
export interface TranscriptState {
  transcript: Transcript;
  error: ProtocolError | null;
}

/**
 * The chat page's and the admin console's shared plumbing: immutable state that listeners (the Preact
 * components) are told of on every change, the transcript updated through the pure reducers, and actions whose
 * failure is shown as the page's error.
 */
export abstract class TranscriptStore<S extends TranscriptState> {
  private readonly listeners = new Set<(state: S) => void>();

  protected constructor(protected state: S) {}

  get current(): S {
    return this.state;
  }

  subscribe(listener: (state: S) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  dismissError(): void {
    this.set({ error: null } as Partial<S>);
  }

  protected async attempt<R>(action: () => Promise<R>): Promise<R | undefined> {
    try {
      return await action();
    } catch (error) {
      this.set({ error: asProtocolError(error) } as Partial<S>);
      return undefined;
    }
  }

  protected update(change: (t: Transcript) => Transcript): void {
    const transcript = change(this.state.transcript);
    if (transcript !== this.state.transcript) this.set({ transcript } as Partial<S>);
  }

  protected set(patch: Partial<S>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener(this.state);
  }
}
