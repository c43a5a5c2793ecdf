/** setTimeout keeps its delay in a signed 32-bit integer: anything longer (about 24.8 days) fires after 1 ms. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * Runs `task` at the epoch millisecond `atMs`, however far ahead, waiting in steps no timer can overflow.
 * `track` receives every step's timer as it is armed, so the owner always holds the live one to clear.
 * The timers are unref'd: a pending deadline never keeps the process alive.
 */
export function setTimeoutAt(atMs: number, task: () => void, track: (timer: NodeJS.Timeout) => void): void {
  const step = (): void => {
    const remaining = atMs - Date.now();
    const timer =
      remaining > MAX_TIMER_DELAY_MS ? setTimeout(step, MAX_TIMER_DELAY_MS) : setTimeout(task, Math.max(0, remaining));
    timer.unref();
    track(timer);
  };
  step();
}
