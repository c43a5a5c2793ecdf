import { FinishedReply, TurnBufferStore, TurnSnapshot } from '../turn-buffer.store';

export class MemoryTurnBufferStore extends TurnBufferStore {
  private readonly turns = new Map<string, { frames?: string[]; finished?: FinishedReply }>();

  open(turnId: string): Promise<void> {
    this.turns.set(turnId, { frames: [] });
    return Promise.resolve();
  }

  append(turnId: string, index: number, text: string): Promise<boolean> {
    const frames = this.turns.get(turnId)?.frames;
    if (frames?.length !== index) return Promise.resolve(false);
    frames.push(text);
    return Promise.resolve(true);
  }

  finish(turnId: string, reply: FinishedReply): Promise<void> {
    this.turns.set(turnId, { ...this.turns.get(turnId), finished: reply });
    return Promise.resolve();
  }

  read(turnId: string): Promise<TurnSnapshot | undefined> {
    const turn = this.turns.get(turnId);
    if (!turn) return Promise.resolve(undefined);
    return Promise.resolve({
      streamed: turn.frames && { index: turn.frames.length - 1, text: turn.frames.join('') },
      finished: turn.finished,
    });
  }

  discard(turnId: string): Promise<void> {
    this.turns.delete(turnId);
    return Promise.resolve();
  }
}
