import { io, Socket } from 'socket.io-client';
import { AckOf } from './chat-client';
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

/** A socket.io client on `/admin` that records every event in arrival order. */
export class AdminClient {
  readonly events: { event: string; payload: Record<string, unknown> }[] = [];
  readonly socket: Socket;

  constructor(baseUrl: string, token?: string) {
    this.socket = io(`${baseUrl}/admin`, {
      path: '/chatbox/socket.io',
      transports: ['websocket'],
      auth: token === undefined ? {} : { token },
      reconnection: false,
      forceNew: true,
    });
    this.socket.onAny((event: string, payload: Record<string, unknown>) => this.events.push({ event, payload }));
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.connected) return resolve();
      this.socket.once('connect', () => resolve());
      this.socket.once('connect_error', reject);
    });
  }

  async call<T = Record<string, unknown>>(event: string, payload: unknown): Promise<AckOf<T>> {
    return (await this.socket.timeout(10000).emitWithAck(event, payload)) as AckOf<T>;
  }

  async ok<T = Record<string, unknown>>(event: string, payload: unknown): Promise<T> {
    const ack = await this.call<T>(event, payload);
    if (!ack.ok) throw new Error(`${event} failed: ${JSON.stringify(ack.error)}`);
    return ack.data;
  }

  named(event: string): Record<string, unknown>[] {
    return this.events.filter((e) => e.event === event).map((e) => e.payload);
  }

  waitForEvent(event: string, predicate: (p: Record<string, unknown>) => boolean = () => true, timeoutMs = 10000) {
    return waitFor(() => this.named(event).find(predicate), { timeoutMs, what: `admin event ${event}` });
  }

  refused(): Promise<Error & { data?: { code: string } }> {
    return new Promise((resolve, reject) => {
      this.socket.once('connect', () => reject(new Error('the handshake was accepted')));
      this.socket.once('connect_error', resolve);
    });
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

  close(): void {
    this.socket.disconnect();
  }
}
