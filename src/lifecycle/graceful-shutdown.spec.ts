import { EventEmitter } from 'node:events';
import { LoggerService } from '@nestjs/common';
import { loadConfig } from '../config/load-config';
import { DrainState } from '../health/drain-state';
import { installGracefulShutdown } from './graceful-shutdown';

function setup(
  close: () => Promise<void>,
  env: Record<string, string>,
  drainWork?: () => void,
  describePending?: () => string[],
) {
  const signals = new EventEmitter();
  const drain = new DrainState();
  const errors: string[] = [];
  const logger: LoggerService = {
    log: () => undefined,
    error: (message: string) => errors.push(message),
    warn: () => undefined,
  };
  let resolveExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  const afterClose = jest.fn(() => Promise.resolve());
  const onDrain = jest.fn(drainWork ?? (() => expect(drain.draining).toBe(true)));
  const shutdown = installGracefulShutdown({
    app: { close },
    drain,
    config: loadConfig(env),
    logger,
    afterClose,
    onDrain,
    describePending,
    signals,
    exit: (code) => resolveExit(code),
  });
  return { signals, drain, exited, afterClose, onDrain, shutdown, errors };
}

describe('installGracefulShutdown', () => {
  it('drains first, then closes the app and exits 0', async () => {
    const order: string[] = [];
    const { signals, drain, exited, afterClose, onDrain } = setup(
      () => {
        order.push(`close while draining=${drain.draining}`);
        return Promise.resolve();
      },
      { SHUTDOWN_DRAIN_DELAY_MS: '10' },
    );
    signals.emit('SIGTERM');
    expect(drain.draining).toBe(true);
    expect(order).toEqual([]);
    await expect(exited).resolves.toBe(0);
    expect(order).toEqual(['close while draining=true']);
    expect(afterClose).toHaveBeenCalledTimes(1);
    expect(onDrain).toHaveBeenCalledTimes(1);
  });

  it('exits 1 at the deadline when closing hangs', async () => {
    const { signals, exited, afterClose } = setup(() => new Promise<void>(() => undefined), {
      SHUTDOWN_TIMEOUT_MS: '1000',
      SHUTDOWN_DRAIN_DELAY_MS: '0',
    });
    signals.emit('SIGINT');
    await expect(exited).resolves.toBe(1);
    expect(afterClose).not.toHaveBeenCalled();
  });

  it('names what was still open when the deadline ends it', async () => {
    const { signals, exited, errors } = setup(
      () => new Promise<void>(() => undefined),
      { SHUTDOWN_TIMEOUT_MS: '1000', SHUTDOWN_DRAIN_DELAY_MS: '0' },
      undefined,
      () => ['find messages for 900 ms', 'turn for session s-1'],
    );
    signals.emit('SIGTERM');
    await expect(exited).resolves.toBe(1);
    expect(errors).toEqual([
      'shutdown did not finish within 1000 ms; exiting now; still open: find messages for 900 ms; turn for session s-1',
    ]);
  });

  it('exits 1 when closing fails, and ignores a second signal', async () => {
    let closes = 0;
    const { signals, exited } = setup(() => {
      closes += 1;
      return Promise.reject(new Error('boom'));
    }, {});
    signals.emit('SIGTERM');
    signals.emit('SIGTERM');
    await expect(exited).resolves.toBe(1);
    expect(closes).toBe(1);
  });

  it('still exits when the drain work itself throws, and never closes the app then', async () => {
    const close = jest.fn(() => Promise.resolve());
    const { signals, exited, drain } = setup(close, { SHUTDOWN_TIMEOUT_MS: '1000' }, () => {
      throw new Error('the drain broke');
    });
    signals.emit('SIGTERM');
    await expect(exited).resolves.toBe(1);
    expect(drain.draining).toBe(true);
    expect(close).not.toHaveBeenCalled();
  });

  it('shuts down the same way when the process starts it itself', async () => {
    const close = jest.fn(() => Promise.resolve());
    const { shutdown, drain, exited } = setup(close, { SHUTDOWN_DRAIN_DELAY_MS: '0' });
    shutdown('too many uncaught errors');
    expect(drain.draining).toBe(true);
    await expect(exited).resolves.toBe(0);
    expect(close).toHaveBeenCalledTimes(1);
  });
});
