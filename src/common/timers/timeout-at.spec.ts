import { MAX_TIMER_DELAY_MS, setTimeoutAt } from './timeout-at';

const DAY = 86400000;

describe('setTimeoutAt', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('runs a task 29 days ahead at its time, not when a single timer would overflow', () => {
    const task = jest.fn();
    setTimeoutAt(Date.now() + 29 * DAY, task, () => undefined);
    jest.advanceTimersByTime(29 * DAY - 1);
    expect(task).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(task).toHaveBeenCalledTimes(1);
  });

  it('runs a past deadline at once', () => {
    const task = jest.fn();
    setTimeoutAt(Date.now() - 1000, task, () => undefined);
    jest.advanceTimersByTime(0);
    expect(task).toHaveBeenCalledTimes(1);
  });

  it('hands over each armed step, so clearing the latest one cancels the task', () => {
    const task = jest.fn();
    const armed: NodeJS.Timeout[] = [];
    setTimeoutAt(Date.now() + 3 * MAX_TIMER_DELAY_MS, task, (timer) => armed.push(timer));
    jest.advanceTimersByTime(MAX_TIMER_DELAY_MS);
    expect(armed).toHaveLength(2);
    clearTimeout(armed.at(-1));
    jest.advanceTimersByTime(3 * MAX_TIMER_DELAY_MS);
    expect(task).not.toHaveBeenCalled();
  });
});
