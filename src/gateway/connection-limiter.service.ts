import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import type { Namespace, Socket } from 'socket.io';
import { HandshakeError, SocketData } from '../auth/socket-auth.middleware';
import { AppError } from '../common/errors/app-error';
import { toProtocolError } from '../common/errors/protocol-error';
import { AppConfig } from '../config/app-config';
import { SocketRegistryStore, UserSocket } from '../coordination/socket-registry.store';

/** A socket's registration lasts this long unless its replica renews it (every third of it). */
export const SOCKET_ENTRY_TTL_MS = 60000;
const MINUTE_MS = 60000;
const HANDSHAKES_THROTTLER = 'handshakes';

/**
 * The limits on Socket.IO connections. Before authentication: transport handshakes and namespace
 * connects per client address per minute, so no address can make the server verify tokens, or hold
 * half-open connections, without bound. After: at most SOCKETS_PER_USER sockets per user across
 * replicas; a new socket closes the user's oldest, which is told why first.
 */
@Injectable()
export class ConnectionLimiter implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ConnectionLimiter.name);
  private readonly trust: (address: string, hop: number) => boolean;
  private namespace?: Namespace;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly config: AppConfig,
    @Inject(ThrottlerStorage) private readonly throttler: ThrottlerStorage,
    private readonly registry: SocketRegistryStore,
  ) {
    this.trust = proxyAddr.compile(config.http.trustedProxies);
  }

  attach(namespace: Namespace): void {
    this.namespace = namespace;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.renew(), SOCKET_ENTRY_TTL_MS / 3);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** The client's address by the HTTP side's rule: the socket peer, unless that peer is a trusted proxy. */
  clientAddress(request: IncomingMessage): string {
    return proxyAddr(request, this.trust);
  }

  /**
   * Counts one connection attempt of `kind` from the request's address, before any token is read.
   * Over the limit, the answer says when to retry. Without the shared store (Redis down) the attempt
   * is counted on this replica alone (LocalFallbackThrottlerStorage).
   */
  async countAttempt(kind: 'handshake' | 'connect', request: IncomingMessage): Promise<{ retryAfterMs?: number }> {
    const limit = this.config.chat.handshakesPerMinute;
    const key = `${kind}:${this.clientAddress(request)}`;
    const { isBlocked, timeToBlockExpire } = await this.throttler.increment(
      key,
      MINUTE_MS,
      limit,
      MINUTE_MS,
      HANDSHAKES_THROTTLER,
    );
    return isBlocked ? { retryAfterMs: timeToBlockExpire * 1000 } : {};
  }

  /** Namespace middleware: refuses a connect past the address's limit with `rate_limited`. */
  connectLimit() {
    return (socket: Socket, next: (err?: Error) => void): void => {
      void this.countAttempt('connect', socket.request).then(({ retryAfterMs }) =>
        retryAfterMs === undefined
          ? next()
          : next(
              new HandshakeError('rate_limited', 'Too many connection attempts from this address', { retryAfterMs }),
            ),
      );
    };
  }

  /**
   * Registers an authenticated socket for its user. Beyond SOCKETS_PER_USER the oldest sockets, on
   * whichever replica, get `error { code: 'connection_replaced' }` and are closed; the newest device always works.
   */
  async admit(socket: Socket): Promise<void> {
    const entry: UserSocket = { userId: (socket.data as SocketData).principal.userId, socketId: socket.id };
    socket.once('disconnect', () => void this.release(entry));
    try {
      const evicted = await this.registry.add(entry, this.config.chat.socketsPerUser, SOCKET_ENTRY_TTL_MS);
      // Gone while being registered: its disconnect ran first.
      if (socket.disconnected) await this.registry.remove(entry);
      for (const socketId of evicted) this.close(socketId);
    } catch (error) {
      this.logger.warn(
        { err: error, userId: entry.userId },
        "could not register the user's socket; admitted uncounted",
      );
    }
  }

  private close(socketId: string): void {
    const limit = this.config.chat.socketsPerUser;
    this.namespace
      ?.to(socketId)
      .emit(
        'error',
        toProtocolError(
          new AppError(
            'connection_replaced',
            `This user opened more than ${limit} connections; this one, the oldest, is closed`,
          ),
        ),
      );
    this.namespace?.in(socketId).disconnectSockets(true);
  }

  private async release(entry: UserSocket): Promise<void> {
    try {
      await this.registry.remove(entry);
    } catch (error) {
      // The entry lapses on its own once nobody renews it.
      this.logger.warn({ err: error, userId: entry.userId }, "could not unregister the user's socket");
    }
  }

  private async renew(): Promise<void> {
    const held = [...(this.namespace?.sockets.values() ?? [])].map((socket) => ({
      userId: (socket.data as SocketData).principal.userId,
      socketId: socket.id,
    }));
    try {
      await this.registry.renew(held, SOCKET_ENTRY_TTL_MS);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not renew the socket registrations; retrying next interval');
    }
  }
}
