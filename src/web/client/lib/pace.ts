/** The timers `throttle` and `settle` run on (the window's, or a test's fake ones). */
export interface Timers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface Paced<T> {
  push(value: T): void;
  /** Drops what is waiting; nothing is applied after this. */
  cancel(): void;
}

/**
 * Applies the newest value pushed at most once per `intervalMs`: a value pushed after a quiet interval at
 * once, the rest at the interval's end, where only the newest is applied. The last value pushed is always
 * applied.
 */
export function throttle<T>(apply: (value: T) => void, intervalMs: number, timers: Timers = realTimers): Paced<T> {
  let last = -Infinity;
  let waiting: { value: T } | undefined;
  let timer: unknown;
  const flush = () => {
    timer = undefined;
    if (!waiting) return;
    last = timers.now();
    const { value } = waiting;
    waiting = undefined;
    apply(value);
  };
  return {
    push(value) {
      waiting = { value };
      if (timer !== undefined) return;
      const wait = last + intervalMs - timers.now();
      if (wait <= 0) flush();
      else timer = timers.setTimeout(flush, wait);
    },
    cancel() {
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
      waiting = undefined;
    },
  };
}

/**
 * Applies a value once it has stayed the newest for `delayMs`: one that is replaced sooner is never applied,
 * and one equal to the value applied last is not applied again.
 */
export function settle<T>(apply: (value: T) => void, delayMs: number, timers: Timers = realTimers): Paced<T> {
  let applied: { value: T } | undefined;
  let timer: unknown;
  const cancel = () => {
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
  };
  return {
    push(value) {
      cancel();
      if (applied && Object.is(applied.value, value)) return;
      timer = timers.setTimeout(() => {
        timer = undefined;
        applied = { value };
        apply(value);
      }, delayMs);
    },
    cancel,
  };
}
