import { io, Socket } from 'socket.io-client';
import type { Ack, ProtocolError } from './protocol';
import type { TokenRequestReason } from './embed-messages';

export type ConnectionState = 'connecting' | 'online' | 'offline' | 'failed';

export interface TokenSource {
  current(): string | undefined;
  request(reason: TokenRequestReason): Promise<string>;
}

/** An error answered by the server (or made up here when the connection fails), with its protocol code. */
export class RequestError extends Error {
  constructor(readonly error: ProtocolError) {
    super(error.message);
  }
}

const RECONNECT_CODES = new Set(['token_expired', 'unauthorized']);
/** Fresh tokens asked for in a row without a connection before the page gives up (a host handing bad ones). */
const MAX_RENEWALS = 2;
/** Shown when the server refuses the host's fresh token in place of the current one. */
const REFRESH_REFUSED: ProtocolError = {
  code: 'refresh_refused',
  message: 'The fresh token was refused',
  recoverable: true,
};
/** Reconnections after `server:draining` are spread over this long, within the default drain delay (5 s). */
const DRAIN_SPREAD_MS = 3000;
/** How long the page waits for the host to answer a token request. */
const TOKEN_WAIT_MS = 20000;

/**
 * One Socket.IO namespace of the app, signed in with the host's token. Transport failures reconnect on
 * their own; a refused token asks the host for a fresh one and reconnects; `auth:expiring` swaps the
 * token in place (`auth:refresh`); `server:draining` reconnects (to another replica) within a few seconds.
 */
export class Connection {
  readonly socket: Socket;
  private stateListeners = new Set<(state: ConnectionState, error?: ProtocolError) => void>();
  state: ConnectionState = 'connecting';
  private renewals = 0;

  constructor(
    prefix: string,
    namespace: '/chat' | '/admin',
    private readonly tokens: TokenSource,
  ) {
    this.socket = io(`${location.origin}${namespace}`, {
      path: `${prefix}/socket.io`,
      transports: ['websocket'],
      autoConnect: false,
      auth: (cb) => cb({ token: this.tokens.current() }),
    });
    this.socket.on('connect', () => {
      this.renewals = 0;
      this.setState('online');
    });
    this.socket.on('disconnect', (reason) => {
      // The server closed us on purpose (expired token, replaced): the 'error' event decides what follows.
      this.setState(reason === 'io server disconnect' ? 'failed' : 'offline');
    });
    this.socket.on('connect_error', (err: Error & { data?: ProtocolError }) => {
      const refusal = err.data;
      if (refusal && RECONNECT_CODES.has(refusal.code) && this.renewals < MAX_RENEWALS) {
        this.renewals += 1;
        return void this.renew('expired');
      }
      if (refusal?.code === 'rate_limited') {
        this.setState('offline', refusal);
        return void setTimeout(() => this.socket.connect(), refusal.retryAfterMs ?? 5000);
      }
      // Refused for good (no admin role, the host's tokens keep failing): say so and stop knocking.
      if (refusal) return this.setState('failed', refusal);
      // The transport failed: socket.io-client retries on its own.
      this.setState('offline');
    });
    this.socket.on('error', (error: ProtocolError) => {
      if (error.code === 'token_expired') return void this.renew('expired');
      this.setState('failed', error);
    });
    this.socket.on('auth:expiring', () => void this.refreshInPlace());
    this.socket.on('server:draining', () => {
      // At a random moment within DRAIN_SPREAD_MS, so a replica's pages do not all land on the others at
      // once; not when this connection has gone meanwhile (the replica closed it first, and the page is
      // already reconnecting).
      const draining = this.socket.id;
      setTimeout(() => {
        if (!this.socket.connected || this.socket.id !== draining) return;
        this.socket.disconnect();
        this.socket.connect();
      }, Math.random() * DRAIN_SPREAD_MS);
    });
  }

  /** Connects once the host has handed over a token. */
  async start(): Promise<void> {
    if (!this.tokens.current() && !(await this.token('initial'))) return;
    this.socket.connect();
  }

  /** A token from the host, or undefined (and the page told so) when none comes in time. */
  private async token(reason: TokenRequestReason): Promise<string | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), TOKEN_WAIT_MS)));
    const token = await Promise.race([this.tokens.request(reason), late]);
    clearTimeout(timer);
    if (token === undefined) {
      this.setState('failed', { code: 'unauthorized', message: 'The host gave no token', recoverable: false });
    }
    return token;
  }

  onState(listener: (state: ConnectionState, error?: ProtocolError) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /**
   * Sends an event once connected and resolves with the ack's data, or rejects with its error (or with
   * `unavailable` when no answer comes). Nothing is queued while disconnected: a request whose answer timed
   * out is never sent again behind its caller's retry.
   */
  async request<T>(event: string, payload: object, timeoutMs = 15000): Promise<T> {
    if (!this.socket.connected) await new Promise<void>((resolve) => this.socket.once('connect', () => resolve()));
    return new Promise<T>((resolve, reject) => {
      this.socket.timeout(timeoutMs).emit(event, payload, (err: Error | null, answer?: Ack<T>) => {
        if (err || !answer) {
          return reject(new RequestError({ code: 'unavailable', message: 'No answer', recoverable: true }));
        }
        if (answer.ok) resolve(answer.data);
        else reject(new RequestError(answer.error));
      });
    });
  }

  private async renew(reason: TokenRequestReason): Promise<void> {
    this.setState('connecting');
    if (!(await this.token(reason))) return;
    this.socket.disconnect();
    this.socket.connect();
  }

  private async refreshInPlace(): Promise<void> {
    const token = await this.token('expiring');
    if (!token) return;
    try {
      await this.request('auth:refresh', { token });
    } catch (error) {
      // The connection stays on the old token until it expires; the cut-off then reconnects with a new one.
      // A refusal (the host's token is another user's, or not valid) is told now; a lost answer is not one.
      const refused = error instanceof RequestError && error.error.code !== 'unavailable';
      if (refused) this.setState(this.state, REFRESH_REFUSED);
    }
  }

  private setState(state: ConnectionState, error?: ProtocolError): void {
    this.state = state;
    for (const listener of this.stateListeners) listener(state, error);
  }
}
