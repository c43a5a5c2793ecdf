import { ProtocolError, SessionStreamEvents } from '../common/realtime/client-events';
import { AdminSessionView } from '../session/session-views';

/**
 * Every server → client event of `/admin`, with its payload: the live queue, and what everyone in a session
 * sees of it, for the sessions the administrator watches or holds.
 */
export interface AdminServerToClientEvents extends SessionStreamEvents {
  /** On connect: the active sessions, those asking for help first, then the most recently active. */
  'admin:sessions': (payload: { sessions: AdminSessionView[]; truncated: boolean }) => void;
  /** A session changed: upsert it, or remove it from the queue when `removed` (it ended). */
  'admin:session': (payload: AdminSessionView & { removed: boolean }) => void;
  error: (payload: ProtocolError) => void;
}
