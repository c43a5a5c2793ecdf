import { Injectable, Logger } from '@nestjs/common';
import { OwnerChangeCause } from './schemas/owner-change.schema';
import { HelpSource, SessionOwner } from './schemas/session.schema';

/**
 * What happened to a session, told by the session service once the change is stored. Listeners (the
 * admin feed; notifications) read whatever else they need.
 */
export type SessionEvent =
  /** Anything admins see changed: started, ended, help asked or withdrawn, owner changed. */
  | { type: 'session.changed'; sessionId: string }
  /** A help request was opened (not told again for a request already open). */
  | { type: 'help.requested'; sessionId: string; userId: string; source: HelpSource; requestedAt: Date }
  /** The session changed hands. */
  | {
      type: 'owner.changed';
      sessionId: string;
      userId: string;
      owner: SessionOwner;
      previousOwner: SessionOwner;
      cause: OwnerChangeCause;
      epoch: number;
    };

type Listener<T extends SessionEvent['type']> = (event: Extract<SessionEvent, { type: T }>) => Promise<void> | void;

/**
 * The session domain's events, told in-process to whoever subscribed. A listener's failure is logged,
 * never thrown back into the change that was already made.
 */
@Injectable()
export class SessionEvents {
  private readonly logger = new Logger(SessionEvents.name);
  private readonly listeners = new Map<SessionEvent['type'], ((event: SessionEvent) => Promise<void> | void)[]>();

  on<T extends SessionEvent['type']>(type: T, listener: Listener<T>): void {
    const told = (event: SessionEvent) => listener(event as Extract<SessionEvent, { type: T }>);
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), told]);
  }

  emit(event: SessionEvent): void {
    for (const listener of this.listeners.get(event.type) ?? []) {
      Promise.resolve()
        .then(() => listener(event))
        .catch((error: unknown) =>
          this.logger.warn({ err: error, sessionId: event.sessionId, event: event.type }, 'session event not told'),
        );
    }
  }

  /** Shorthand for `session.changed`. */
  changed(sessionId: string): void {
    this.emit({ type: 'session.changed', sessionId });
  }
}
