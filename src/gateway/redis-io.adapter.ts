import type { IncomingMessage } from 'node:http';
import { INestApplicationContext, Logger } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { createAdapter } from '@socket.io/redis-adapter';
import helmet from 'helmet';
import Redis from 'ioredis';
import type { Observable } from 'rxjs';
import type { Server, ServerOptions, Socket } from 'socket.io';
import { HandshakeError } from '../auth/socket-auth.middleware';
import { securityHeaders } from '../common/http/security-headers';
import { AppConfig } from '../config/app-config';
import { ConnectionLimiter } from './connection-limiter.service';

/**
 * A browser request from a page of the same origin: its Origin's host is the one it asked for. Proxies in
 * front must pass the Host header through (nginx: `proxy_set_header Host $host`), or list the public
 * origin in CORS_ORIGINS.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const { origin, host } = req.headers;
  if (!origin || !host) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * Socket.IO under `<prefix>/socket.io`, frames capped, and with REDIS_URL the Redis adapter so a
 * room spans every replica. Without Redis: the in-memory adapter (single instance).
 */
export class RedisIoAdapter extends IoAdapter {
  private readonly logger = new Logger(RedisIoAdapter.name);
  private adapter?: ReturnType<typeof createAdapter>;
  private clients: Redis[] = [];

  constructor(
    private readonly app: INestApplicationContext,
    private readonly config: AppConfig,
  ) {
    super(app);
  }

  async connect(): Promise<void> {
    if (!this.config.redis.url) return;
    const pub = new Redis(this.config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    const sub = pub.duplicate();
    for (const client of [pub, sub]) client.on('error', () => undefined);
    // The adapter publishes without waiting (a broadcast is fire-and-forget): one that races the shutdown
    // and finds the client closed is dropped, never left as an unhandled rejection.
    const publish = pub.publish.bind(pub);
    pub.publish = (channel: string, message: string) =>
      publish(channel, message).catch((error: unknown) => {
        this.logger.debug({ err: error }, 'broadcast dropped: the Redis client is closed');
        return 0;
      });
    await Promise.all([pub.connect(), sub.connect()]);
    this.clients = [pub, sub];
    this.adapter = createAdapter(pub, sub, { requestsTimeout: 5000 });
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const { http, chat } = this.config;
    const limiter = this.app.get(ConnectionLimiter, { strict: false });
    const server = super.createIOServer(port, {
      ...options,
      path: `${http.pathPrefix}/socket.io`,
      maxHttpBufferSize: chat.maxFrameBytes,
      serveClient: false,
      cors: { origin: http.corsOrigins, credentials: false },
      // CORS does not cover WebSocket upgrades: a browser handshake from another origin is refused here
      // (cross-site WebSocket hijacking). Clients that send no Origin (apps, servers) are not browsers, and
      // Chatbox's own pages are always welcome.
      allowRequest: (req: IncomingMessage, callback: (err: string | null | undefined, success: boolean) => void) => {
        const origin = req.headers.origin;
        if (!(
          http.corsOrigins === true ||
          origin === undefined ||
          http.corsOrigins.includes(origin) ||
          sameOrigin(req)
        )) {
          return callback(null, false);
        }
        // Then the address's handshake budget, spent before any token is read.
        void limiter
          .countAttempt('handshake', req)
          .then(({ retryAfterMs }) =>
            callback(retryAfterMs === undefined ? null : 'rate_limited', retryAfterMs === undefined),
          );
      },
    }) as Server;
    // Every client belongs in a namespace with authentication; the root one would hold sockets for nobody.
    server.of('/').use((_socket, next) => next(new HandshakeError('not_found', 'No such namespace; use /chat')));
    // engine.io answers the Socket.IO path before Fastify sees it (handshakes, long polling, its own
    // errors), so the Fastify hooks that set security headers never run there: its middleware does.
    server.engine.use(helmet(securityHeaders(http)));
    if (this.adapter) server.adapter(this.adapter);
    return server;
  }

  /**
   * Plain listeners instead of Nest's per-socket RxJS pipeline for each event (fromEvent → mergeMap →
   * takeUntil(disconnect)): an idle socket then costs a few closures, not eight live subscriptions. What
   * an event needs (its handler's result, the ack) is built when the event comes, and dropped after.
   */
  override bindMessageHandlers(
    socket: Socket,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    for (const { message, callback, isAckHandledManually } of handlers) {
      socket.on(message as string, (...args: unknown[]) => {
        const { data, ack } = this.mapPayload(args.length === 1 ? args[0] : args) as { data: unknown; ack?: unknown };
        transform(callback(data, ack)).subscribe({
          next: (response) => {
            if (response === undefined || response === null) return;
            const { event, data: payload } = response as { event?: string; data?: unknown };
            if (event) socket.emit(event, payload);
            else if (!isAckHandledManually && typeof ack === 'function') (ack as (r: unknown) => void)(response);
          },
          // The ack interceptor answers every handler's error; anything reaching here is a bug, not a client's.
          error: (error: unknown) =>
            this.logger.error({ err: error, event: message as string }, 'socket handler failed'),
        });
      });
    }
  }

  // Nest calls this when the application closes.
  override async dispose(): Promise<void> {
    await super.dispose();
    await Promise.all(this.clients.map((c) => c.quit().catch(() => c.disconnect())));
  }
}
