import { wallMs, decodeStamp } from '../lib/clock';
import { distribution, Distribution } from '../lib/stats';
import { ErrorTally } from './chat-connection';

export interface WindowStats {
  seconds: number;
  frames: number;
  tokens: number;
  /** Arrival of each frame behind the due time of the oldest token it carries (ms). */
  latenessMs: Distribution;
  acks: number;
  ackMs: Distribution;
  turnsEnded: number;
  errors: Record<string, number>;
}

/** What the load client saw during a measured window; scenarios record into it while it is open. */
export class MeasureWindow {
  private open = false;
  private startedAt = 0;
  private frames = 0;
  private tokens = 0;
  private lateness: number[] = [];
  private acks = 0;
  private ackMs: number[] = [];
  private turnsEnded = 0;
  private errors = new ErrorTally();

  constructor(private readonly epochMs: number) {}

  start(): void {
    Object.assign(this, { open: true, startedAt: wallMs(), frames: 0, tokens: 0, lateness: [], acks: 0 });
    Object.assign(this, { ackMs: [], turnsEnded: 0, errors: new ErrorTally() });
  }

  stop(): WindowStats {
    this.open = false;
    return {
      seconds: (wallMs() - this.startedAt) / 1000,
      frames: this.frames,
      tokens: this.tokens,
      latenessMs: distribution(this.lateness),
      acks: this.acks,
      ackMs: distribution(this.ackMs),
      turnsEnded: this.turnsEnded,
      errors: this.errors.counts,
    };
  }

  /** A streamed frame: its text is stamps separated by spaces (see paced-upstream.ts). */
  frame(text: string): void {
    if (!this.open) return;
    const arrival = wallMs();
    let oldest = Infinity;
    for (const stamp of text.split(' ')) {
      if (stamp === '') continue;
      this.tokens++;
      oldest = Math.min(oldest, decodeStamp(this.epochMs, stamp));
    }
    this.frames++;
    this.lateness.push(arrival - oldest);
  }

  ack(ms: number): void {
    if (!this.open) return;
    this.acks++;
    this.ackMs.push(ms);
  }

  turnEnded(): void {
    if (this.open) this.turnsEnded++;
  }

  error(error: unknown): void {
    if (this.open) this.errors.add(error);
  }
}
