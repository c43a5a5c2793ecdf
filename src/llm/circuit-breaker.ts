export interface BreakerOptions {
  failures: number;
  failurePercent: number;
  minRequests: number;
  cooldownMs: number;
}

/**
 * Per provider endpoint: opens after N consecutive failures, or when X% of at least M recent
 * requests failed; while open it fails fast; after the cooldown one trial request decides.
 */
export class CircuitBreaker {
  private consecutive = 0;
  private window: boolean[] = [];
  private openedAt?: number;
  private trialInFlight = false;

  constructor(
    private readonly options: BreakerOptions,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): 'closed' | 'open' | 'half_open' {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.options.cooldownMs ? 'half_open' : 'open';
  }

  /** Whether a request may go out now; in half-open state only one trial at a time. */
  allow(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  success(): void {
    this.record(true);
    this.consecutive = 0;
    this.openedAt = undefined;
    this.trialInFlight = false;
  }

  /**
   * The request ended without a verdict on the endpoint (cancelled before it answered). A half-open
   * trial must not stay in flight for ever: the breaker re-opens and tries again after another cooldown.
   */
  aborted(): void {
    if (!this.trialInFlight) return;
    this.trialInFlight = false;
    this.openedAt = this.now();
  }

  failure(): void {
    this.record(false);
    this.consecutive += 1;
    this.trialInFlight = false;
    const failed = this.window.filter((ok) => !ok).length;
    const rateTripped =
      this.window.length >= this.options.minRequests &&
      failed * 100 >= this.options.failurePercent * this.window.length;
    if (this.openedAt !== undefined || this.consecutive >= this.options.failures || rateTripped) {
      this.openedAt = this.now();
    }
  }

  private record(ok: boolean): void {
    this.window.push(ok);
    if (this.window.length > Math.max(this.options.minRequests, 20)) this.window.shift();
  }
}
