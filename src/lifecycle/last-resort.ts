import { randomUUID } from 'node:crypto';
import { LoggerService } from '@nestjs/common';

export interface LastResortOptions {
  logger: LoggerService;
  /** Starts the graceful shutdown; called once, when serving on is no longer safe. */
  giveUp: (reason: string) => void;
  events?: NodeJS.EventEmitter;
  now?: () => number;
}

/** More uncaught exceptions than this within the window mean the process itself is broken. */
export const UNCAUGHT_LIMIT = { count: 10, windowMs: 60000 };

/**
 * The last line of defence for errors that no code path caught, installed once the app is built (a
 * failure while starting still ends the process, as it should).
 *
 * Why serving on is safe: an exception that reaches `uncaughtException` escaped one timer or event
 * callback and unwound only that callback. Durable state lives in MongoDB and Redis and changes only
 * through atomic, conditional updates; turn claims and socket registrations expire unless renewed. So
 * what the callback left half done is at most one request or socket, which its own timeout or the
 * client's retry settles, while exiting would cut every user of this replica.
 * When it is not: a burst of them says something shared in this process is broken (a client stuck in
 * a bad state, a loop failing on every tick), and serving on would only fail slowly. Past
 * UNCAUGHT_LIMIT the replica drains and exits through the graceful shutdown, with its deadline, and the
 * orchestrator starts a fresh one.
 */
export function installLastResort(options: LastResortOptions): void {
  const { logger, giveUp } = options;
  const events = options.events ?? process;
  const now = options.now ?? Date.now;
  let recent: number[] = [];
  let gaveUp = false;

  events.on('uncaughtException', (error: unknown) => {
    const at = now();
    recent = [...recent.filter((t) => t > at - UNCAUGHT_LIMIT.windowMs), at];
    logger.error({ err: error, errorId: randomUUID() }, 'uncaught exception; this replica serves on');
    if (recent.length > UNCAUGHT_LIMIT.count && !gaveUp) {
      gaveUp = true;
      logger.error(`more than ${UNCAUGHT_LIMIT.count} uncaught exceptions within ${UNCAUGHT_LIMIT.windowMs} ms`);
      giveUp('too many uncaught exceptions');
    }
  });
  // A stray rejection (a library's unawaited promise) is logged; it must not take the process down.
  events.on('unhandledRejection', (reason: unknown) => {
    logger.error({ err: reason }, 'unhandled promise rejection');
  });
}
