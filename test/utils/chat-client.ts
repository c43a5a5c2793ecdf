import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { io, Socket } from 'socket.io-client';
import { waitFor } from './wait-for';

export interface Claims {
  sub?: string;
  user_id?: string;
  name?: string;
  roles?: string[];
  aud?: string;
  iss?: string;
}

/** An HS256 token as a host application would sign it. */
export async function signToken(
  secret: string,
  claims: Claims = {},
  expiresIn: string | number = '1h',
): Promise<string> {
  const { aud, iss, ...payload } = claims;
  let jwt = new SignJWT({ sub: `user-${randomUUID()}`, ...payload })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(expiresIn);
  if (aud) jwt = jwt.setAudience(aud);
  if (iss) jwt = jwt.setIssuer(iss);
  return jwt.sign(new TextEncoder().encode(secret));
}

export interface AckOf<T> {
  ok: boolean;
  data: T;
  error: { code: string; message: string; recoverable: boolean; retryAfterMs?: number };
}

export interface ReceivedEvent {
  event: string;
  payload: Record<string, unknown>;
}

/** A socket.io client that records every server event in arrival order, and calls events with acks. */
export abstract class RecordingClient {
  readonly events: ReceivedEvent[] = [];

  constructor(readonly socket: Socket) {
    this.socket.onAny((event: string, payload: Record<string, unknown>) => this.events.push({ event, payload }));
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.connected) return resolve();
      this.socket.once('connect', () => resolve());
      this.socket.once('connect_error', reject);
    });
  }

  /** The `connect_error` of a refused handshake. */
  refused(): Promise<Error & { data?: { code: string } }> {
    return new Promise((resolve, reject) => {
      this.socket.once('connect', () => reject(new Error('the handshake was accepted')));
      this.socket.once('connect_error', resolve);
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
    return waitFor(() => this.named(event).find(predicate), { timeoutMs, what: `event ${event}` });
  }

  close(): void {
    this.socket.disconnect();
  }
}

/** A socket.io client on `/chat`. */
export class ChatClient extends RecordingClient {
  constructor(
    baseUrl: string,
    auth: Record<string, unknown> | undefined,
    options: { query?: Record<string, string>; headers?: Record<string, string> } = {},
  ) {
    super(
      io(`${baseUrl}/chat`, {
        path: '/chatbox/socket.io',
        transports: ['websocket'],
        auth,
        query: options.query,
        extraHeaders: options.headers,
        reconnection: false,
        forceNew: true,
      }),
    );
  }

  static async connect(baseUrl: string, token: string): Promise<ChatClient> {
    const client = new ChatClient(baseUrl, { token });
    await client.connected();
    return client;
  }

  /** The text of a streamed reply, rebuilt from its deltas in index order. */
  streamedText(messageId: string): string {
    return this.named('ai:delta')
      .filter((d) => d.messageId === messageId)
      .sort((a, b) => (a.index as number) - (b.index as number))
      .map((d) => d.text as string)
      .join('');
  }
}
