import { Periodic } from './periodic';

describe(Periodic.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** A pass the test ends by hand, counting how many began. */
  function gatedPass() {
    const ends: (() => void)[] = [];
    const pass = jest.fn(() => new Promise<void>((resolve) => ends.push(resolve)));
    return { pass, endOldest: () => ends.shift()?.() };
  }

  it('runs a pass every interval, skipping the ticks that come while one is under way', async () => {
    const { pass, endOldest } = gatedPass();
    const periodic = new Periodic(pass, 1000);
    periodic.start();
    expect(pass).toHaveBeenCalledTimes(0);
    jest.advanceTimersByTime(1000);
    expect(pass).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(3000);
    expect(pass).toHaveBeenCalledTimes(1);
    endOldest();
    await Promise.resolve();
    jest.advanceTimersByTime(1000);
    expect(pass).toHaveBeenCalledTimes(2);
    endOldest();
    periodic.stop();
  });

  it('runs a first pass at once when asked', () => {
    const { pass, endOldest } = gatedPass();
    const periodic = new Periodic(pass, 1000);
    periodic.start({ now: true });
    expect(pass).toHaveBeenCalledTimes(1);
    endOldest();
    periodic.stop();
  });

  it('stops ticking at stop, without waiting for the pass under way', () => {
    const { pass, endOldest } = gatedPass();
    const periodic = new Periodic(pass, 1000);
    periodic.start({ now: true });
    periodic.stop();
    jest.advanceTimersByTime(10_000);
    expect(pass).toHaveBeenCalledTimes(1);
    endOldest();
  });

  it('keeps one timer when started twice: stop ends the ticking', () => {
    const pass = jest.fn(() => Promise.resolve());
    const periodic = new Periodic(pass, 1000);
    periodic.start();
    periodic.start();
    jest.advanceTimersByTime(1000);
    expect(pass).toHaveBeenCalledTimes(1);
    periodic.stop();
    jest.advanceTimersByTime(10_000);
    expect(pass).toHaveBeenCalledTimes(1);
  });
});
