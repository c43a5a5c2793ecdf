import { io } from 'socket.io-client';
import { RecordingClient } from './chat-client';
import { waitFor } from './wait-for';

export type AdminSession = {
  id: string;
  userId: string;
  status: string;
  owner: string;
  holder: { id: string; name: string | null } | null;
  rev: number;
  removed?: boolean;
  help: { source: string; reason: string | null; requestedAt: string } | null;
};

/** A socket.io client on `/admin`. */
export class AdminClient extends RecordingClient {
  constructor(baseUrl: string, token?: string) {
    super(
      io(`${baseUrl}/admin`, {
        path: '/chatbox/socket.io',
        transports: ['websocket'],
        auth: token === undefined ? {} : { token },
        reconnection: false,
        forceNew: true,
      }),
    );
  }

  snapshot() {
    return waitFor(
      () => this.events.find((e) => e.event === 'admin:sessions')?.payload as { sessions: AdminSession[] } | undefined,
      { what: 'the admin queue snapshot' },
    );
  }

  /** The newest view of a session told so far (snapshot, then upserts by `rev`). */
  latest(sessionId: string): AdminSession | undefined {
    let best: AdminSession | undefined;
    for (const { event, payload } of this.events) {
      const views =
        event === 'admin:sessions'
          ? (payload.sessions as AdminSession[])
          : event === 'admin:session'
            ? [payload as AdminSession]
            : [];
      for (const view of views) if (view.id === sessionId && (!best || view.rev >= best.rev)) best = view;
    }
    return best;
  }
}
