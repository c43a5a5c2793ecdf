/**
 * Runs `pass` every `intervalMs`, one pass at a time: a tick that comes while a pass is under way is skipped,
 * not queued. `pass` handles its own failures (it logs them and the next pass goes on); it never rejects.
 */
export class Periodic {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  /** Starts the timer; with `now`, a first pass at once. Starting it again restarts it, never a second timer. */
  start({ now = false }: { now?: boolean } = {}): void {
    clearInterval(this.timer);
    const tick = () => {
      this.running ??= this.pass().finally(() => (this.running = undefined));
    };
    if (now) tick();
    this.timer = setInterval(tick, this.intervalMs);
  }

  /**
   * Stops the timer. A pass under way runs on and is not waited for: blocked on a database that is restarting
   * or frozen, it would hold the shutdown past its deadline. Closing the connection fails what it waits on,
   * and a pass is idempotent, so the next one, on any replica, finishes what it left.
   */
  stop(): void {
    clearInterval(this.timer);
  }
}
