import { Injectable, Logger } from '@nestjs/common';

type Listener = (sessionId: string) => Promise<void> | void;

/**
 * A session's state changed (started, ended, help asked or withdrawn, owner changed): told in-process to
 * whoever listens (the admin feed), which reads what it needs. Listeners' failures are logged, never thrown
 * back into the change that was already made.
 */
@Injectable()
export class SessionEvents {
  private readonly logger = new Logger(SessionEvents.name);
  private readonly listeners: Listener[] = [];

  onChanged(listener: Listener): void {
    this.listeners.push(listener);
  }

  changed(sessionId: string): void {
    for (const listener of this.listeners) {
      Promise.resolve()
        .then(() => listener(sessionId))
        .catch((error: unknown) => this.logger.warn({ err: error, sessionId }, 'session change not told'));
    }
  }
}
