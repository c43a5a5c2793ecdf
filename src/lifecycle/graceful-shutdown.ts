import { LoggerService } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { DrainState } from '../health/drain-state';

export interface GracefulShutdownOptions {
  app: { close(): Promise<void> };
  drain: DrainState;
  config: AppConfig;
  logger: LoggerService;
  /** Runs as the drain begins (for example, telling connected clients to move). */
  onDrain?: () => void;
  /** Runs after the application closed (for example, stopping the embedded database). */
  afterClose?: () => Promise<void>;
  /** What is still open, logged when the deadline ends the process (for example, database commands unanswered). */
  describePending?: () => string[];
  signals?: NodeJS.EventEmitter;
  exit?: (code: number) => void;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * On SIGTERM or SIGINT: readiness fails at once, traffic keeps being served for the drain delay
 * (while the load balancer removes the pod), then the app closes. A timer started with the
 * signal ends the process at SHUTDOWN_TIMEOUT_MS whatever happens, so no path can hang.
 * Returns the same shutdown, for the process to start itself (the reason is logged).
 */
export function installGracefulShutdown(options: GracefulShutdownOptions): (reason: string) => void {
  const { app, drain, config, logger } = options;
  const signals = options.signals ?? process;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const { timeoutMs, drainDelayMs } = config.shutdown;

  const shutdown = async (reason: string): Promise<void> => {
    if (drain.draining) return;
    // Armed before any drain work, so nothing the drain does (throwing or hanging) can keep the process up.
    const deadline = setTimeout(() => {
      const pending = describe(options.describePending);
      logger.error(
        `shutdown did not finish within ${timeoutMs} ms; exiting now` +
          (pending.length > 0 ? `; still open: ${pending.join('; ')}` : ''),
      );
      exit(1);
    }, timeoutMs);
    deadline.unref();
    try {
      drain.begin();
      logger.log(`${reason}: draining for ${drainDelayMs} ms, then closing (deadline ${timeoutMs} ms)`);
      options.onDrain?.();
      await new Promise((resolve) => setTimeout(resolve, drainDelayMs));
      await app.close();
      await options.afterClose?.();
      clearTimeout(deadline);
      exit(0);
    } catch (error) {
      logger.error(`shutdown failed: ${(error as Error).message}`);
      clearTimeout(deadline);
      exit(1);
    }
  };

  for (const signal of SIGNALS) {
    signals.on(signal, () => void shutdown(`${signal} received`));
  }
  return (reason) => void shutdown(reason);
}

function describe(describePending: (() => string[]) | undefined): string[] {
  try {
    return describePending?.() ?? [];
  } catch (error) {
    return [`(not known: ${(error as Error).message})`];
  }
}
