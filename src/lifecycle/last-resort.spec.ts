import { EventEmitter } from 'node:events';
import { installLastResort, UNCAUGHT_LIMIT } from './last-resort';

function setup() {
  const events = new EventEmitter();
  const errors: unknown[][] = [];
  const giveUp = jest.fn();
  let clock = 0;
  installLastResort({
    logger: { log: () => undefined, warn: () => undefined, error: (...args: unknown[]) => errors.push(args) },
    giveUp,
    events,
    now: () => clock,
  });
  return { events, errors, giveUp, advance: (ms: number) => (clock += ms) };
}

describe('installLastResort', () => {
  it('logs an uncaught exception with an error id and serves on', () => {
    const { events, errors, giveUp } = setup();
    const error = new RangeError('Invalid time value');
    events.emit('uncaughtException', error);
    expect(errors).toEqual([
      [{ err: error, errorId: expect.stringMatching(/^[0-9a-f-]{36}$/) as string }, expect.any(String)],
    ]);
    expect(giveUp).not.toHaveBeenCalled();
  });

  it('logs an unhandled rejection', () => {
    const { events, errors } = setup();
    events.emit('unhandledRejection', new Error('lost'));
    expect(errors).toHaveLength(1);
  });

  it('gives up once, through the graceful shutdown, when errors come faster than the limit', () => {
    const { events, giveUp } = setup();
    for (let i = 0; i < UNCAUGHT_LIMIT.count; i++) events.emit('uncaughtException', new Error(`e${i}`));
    expect(giveUp).not.toHaveBeenCalled();
    events.emit('uncaughtException', new Error('one too many'));
    events.emit('uncaughtException', new Error('and another'));
    expect(giveUp).toHaveBeenCalledTimes(1);
  });

  it('serves on when the same number of errors is spread over time', () => {
    const { events, giveUp, advance } = setup();
    for (let i = 0; i < 3 * UNCAUGHT_LIMIT.count; i++) {
      events.emit('uncaughtException', new Error(`e${i}`));
      advance(UNCAUGHT_LIMIT.windowMs / UNCAUGHT_LIMIT.count + 1);
    }
    expect(giveUp).not.toHaveBeenCalled();
  });
});
