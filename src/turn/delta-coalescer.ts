/**
 * Gathers a stream's deltas into at most one frame per interval, so the cost per relayed token does not
 * grow with how finely the upstream chunks its stream. A delta that comes after a quiet interval goes
 * out at once, so the first token is never held back by a whole frame interval.
 */
export class DeltaCoalescer {
  private pending = '';
  private index = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly intervalMs: number,
    private readonly emit: (index: number, text: string) => void,
  ) {}

  push(text: string): void {
    this.pending += text;
    if (this.timer) return;
    this.send();
    this.timer = setTimeout(() => this.tick(), this.intervalMs);
  }

  /** Emits what is pending now and stops; call before the stream's end so no delta trails the final event. */
  finish(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.send();
  }

  private tick(): void {
    this.timer = undefined;
    // Quiet for a whole interval: the next delta goes out at once.
    if (this.pending === '') return;
    this.send();
    this.timer = setTimeout(() => this.tick(), this.intervalMs);
  }

  private send(): void {
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.emit(this.index++, text);
  }
}
