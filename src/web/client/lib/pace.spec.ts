import { settle, throttle, Timers } from './pace';

/** Timers that move only when told, so each test says exactly when time passes. */
function fakeTimers() {
  let now = 0;
  let next = 0;
  const due = new Map<number, { at: number; callback: () => void }>();
  const timers: Timers = {
    now: () => now,
    setTimeout: (callback, ms) => {
      due.set(next, { at: now + ms, callback });
      return next++;
    },
    clearTimeout: (handle) => void due.delete(handle as number),
  };
  const advance = (ms: number) => {
    const until = now + ms;
    for (;;) {
      const [id, first] = [...due.entries()].sort((a, b) => a[1].at - b[1].at)[0] ?? [];
      if (first === undefined || first.at > until) break;
      due.delete(id);
      now = first.at;
      first.callback();
    }
    now = until;
  };
  return { timers, advance, pending: () => due.size };
}

describe(throttle.name, () => {
  it('applies the first value at once and, within an interval, only the newest at its end', () => {
    const { timers, advance } = fakeTimers();
    const applied: string[] = [];
    const paced = throttle<string>((v) => applied.push(v), 100, timers);
    paced.push('a');
    expect(applied).toEqual(['a']);
    paced.push('ab');
    advance(40);
    paced.push('abc');
    expect(applied).toEqual(['a']);
    advance(60);
    expect(applied).toEqual(['a', 'abc']);
  });

  it('applies a thousand values pushed over two seconds about twenty times, the last one included', () => {
    const { timers, advance } = fakeTimers();
    const applied: number[] = [];
    const paced = throttle<number>((v) => applied.push(v), 100, timers);
    for (let i = 1; i <= 1000; i += 1) {
      paced.push(i);
      advance(2);
    }
    advance(100);
    expect(applied.length).toBeGreaterThanOrEqual(20);
    expect(applied.length).toBeLessThanOrEqual(21);
    expect(applied.at(-1)).toBe(1000);
  });

  it('applies a value pushed after a quiet interval at once', () => {
    const { timers, advance } = fakeTimers();
    const applied: string[] = [];
    const paced = throttle<string>((v) => applied.push(v), 100, timers);
    paced.push('a');
    advance(500);
    paced.push('b');
    expect(applied).toEqual(['a', 'b']);
  });

  it('applies nothing after cancel', () => {
    const { timers, advance, pending } = fakeTimers();
    const applied: string[] = [];
    const paced = throttle<string>((v) => applied.push(v), 100, timers);
    paced.push('a');
    paced.push('b');
    paced.cancel();
    advance(1000);
    expect(applied).toEqual(['a']);
    expect(pending()).toBe(0);
  });
});

describe(settle.name, () => {
  it('applies a value only once it has stayed the newest for the delay', () => {
    const { timers, advance } = fakeTimers();
    const applied: string[] = [];
    const paced = settle<string>((v) => applied.push(v), 2000, timers);
    paced.push('offline');
    advance(500);
    paced.push('online');
    advance(1999);
    expect(applied).toEqual([]);
    advance(1);
    expect(applied).toEqual(['online']);
  });

  it('does not apply again the value it applied last, even after a flap', () => {
    const { timers, advance } = fakeTimers();
    const applied: string[] = [];
    const paced = settle<string>((v) => applied.push(v), 2000, timers);
    paced.push('online');
    advance(2000);
    paced.push('offline');
    advance(300);
    paced.push('online');
    advance(5000);
    expect(applied).toEqual(['online']);
    paced.push('offline');
    advance(2000);
    expect(applied).toEqual(['online', 'offline']);
  });

  it('applies nothing after cancel', () => {
    const { timers, advance } = fakeTimers();
    const applied: string[] = [];
    const paced = settle<string>((v) => applied.push(v), 2000, timers);
    paced.push('failed');
    paced.cancel();
    advance(5000);
    expect(applied).toEqual([]);
  });
});
