/**
 * Gathers a stream's deltas and emits at most one frame per interval, so the cost per relayed
 * token does not grow with how finely the upstream chunks its stream.
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
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  /** Emits what is pending now; call before the stream's end so no delta trails the final event. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.emit(this.index++, text);
  }
}
