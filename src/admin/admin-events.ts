import { AdminSessionView } from '../session/session-views';

/** Every server → client event of `/admin`, with its payload. */
export interface AdminServerToClientEvents {
  /** On connect: the active sessions, those asking for help first, then the most recently active. */
  'admin:sessions': (payload: { sessions: AdminSessionView[]; truncated: boolean }) => void;
  /** A session changed: upsert it, or remove it from the queue when `removed` (it ended). */
  'admin:session': (payload: AdminSessionView & { removed: boolean }) => void;
  error: (payload: { code: string; message: string; recoverable: boolean }) => void;
}
