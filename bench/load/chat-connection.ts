import { createHmac } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { io, Socket } from 'socket.io-client';

export interface Target {
  /** http://127.0.0.1:<port>; the client speaks to `<url>/chat` under `/chatbox/socket.io`. */
  url: string;
  /** HS256 secret for the tokens. The baseline does not verify them, but gets the same ones. */
  secret: string;
}

export interface Ack<T> {
  ok: boolean;
  data: T;
  error?: { code: string; message: string };
}

/** An HS256 JWT, as a host application signs one; `claims` adds to it (`roles: ['admin']`). */
export function signToken(secret: string, userId: string, claims: object = {}): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub: userId, name: userId, iat: now, exp: now + 3600, ...claims };
  const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

/** One device: an authenticated socket on `/chat`, as the real clients open it (WebSocket only). */
export class ChatConnection {
  sessionId = '';

  private constructor(
    readonly userId: string,
    readonly socket: Socket,
  ) {}

  static open(target: Target, userId: string, timeoutMs = 30000): Promise<ChatConnection> {
    const socket = io(`${target.url}/chat`, {
      path: '/chatbox/socket.io',
      transports: ['websocket'],
      auth: { token: signToken(target.secret, userId) },
      reconnection: false,
      forceNew: true,
      timeout: timeoutMs,
    });
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(new ChatConnection(userId, socket)));
      socket.once('connect_error', (error: Error & { data?: { code?: string } }) => {
        socket.close();
        reject(new Error(`connect_error ${error.data?.code ?? error.message}`));
      });
    });
  }

  /** An event with an ack; a refusal is thrown with its code. */
  async call<T>(event: string, payload: unknown, timeoutMs = 30000): Promise<T> {
    const ack = (await this.socket.timeout(timeoutMs).emitWithAck(event, payload)) as Ack<T>;
    if (!ack.ok) throw new Error(ack.error?.code ?? 'refused');
    return ack.data;
  }

  async startSession(timeoutMs?: number): Promise<string> {
    this.sessionId = (await this.call<{ sessionId: string }>('session:start', {}, timeoutMs)).sessionId;
    return this.sessionId;
  }

  send(clientMessageId: string, content: string, timeoutMs?: number) {
    return this.call<{ messageId: string; seq: number }>(
      'message:send',
      { sessionId: this.sessionId, clientMessageId, content },
      timeoutMs,
    );
  }

  /**
   * When the next of `events` arrives (performance.now()), or a rejection after `timeoutMs`. A caller
   * that gives up before awaiting it (its send failed) leaves no unhandled rejection behind.
   */
  next(events: string[], timeoutMs: number): Promise<number> {
    const arrival = new Promise<number>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        for (const event of events) this.socket.off(event, done);
        resolve(performance.now());
      };
      const timer = setTimeout(() => {
        for (const event of events) this.socket.off(event, done);
        reject(new Error(`no ${events.join('/')} within ${timeoutMs} ms`));
      }, timeoutMs);
      for (const event of events) this.socket.once(event, done);
    });
    arrival.catch(() => undefined);
    return arrival;
  }

  close(): void {
    this.socket.disconnect();
  }
}

/** Counts errors by message, for the report. */
export class ErrorTally {
  readonly counts: Record<string, number> = {};

  add(error: unknown): void {
    const key = (error instanceof Error ? error.message : String(error)).slice(0, 80);
    this.counts[key] = (this.counts[key] ?? 0) + 1;
  }

  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
}
