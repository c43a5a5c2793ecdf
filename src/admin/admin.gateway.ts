import { randomUUID } from 'node:crypto';
import { Logger, UseInterceptors, UsePipes } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import { Gauge } from 'prom-client';
import type { DefaultEventsMap, Namespace, Socket } from 'socket.io';
import { JwtVerifier } from '../auth/jwt-verifier.service';
import { socketAuthMiddleware, SocketData } from '../auth/socket-auth.middleware';
import { RoomBroadcaster, sessionRoom } from '../common/realtime/room-broadcaster';
import { setTimeoutAt } from '../common/timers/timeout-at';
import { AppConfig } from '../config/app-config';
import { AckInterceptor } from '../gateway/ack.interceptor';
import { ConnectionLimiter } from '../gateway/connection-limiter.service';
import { PayloadValidationPipe } from '../gateway/payload-validation.pipe';
import { RateBudget } from '../gateway/rate-budget.decorator';
import { rejectUnknownEvents, subscribedEvents } from '../gateway/unknown-events';
import { ADMINS_CONNECTED, SOCKETS_CONNECTED } from '../metrics/chatbox.metrics';
import { SessionEvents } from '../session/session-events';
import { SessionService } from '../session/session.service';
import { AdminServerToClientEvents } from './admin-events';
import { AdminMessagePayload, AdminSessionRefPayload, AdminTypingPayload } from './admin.payloads';
import { AdminActor, TakeoverService } from './takeover.service';

interface AdminSocketData extends SocketData {
  expiry?: NodeJS.Timeout;
  /** The sessions this socket watches (`admin:watch`): it stays in their rooms whatever else happens. */
  watching: Set<string>;
}

type AdminSocket = Socket<DefaultEventsMap, AdminServerToClientEvents, DefaultEventsMap, AdminSocketData>;
type AdminNamespace = Namespace<DefaultEventsMap, AdminServerToClientEvents, DefaultEventsMap, AdminSocketData>;

/** Every admin socket, on every replica: the live queue is pushed to it. */
export const ADMINS_ROOM = 'admins';
/** How many sessions the snapshot on connect holds at most. */
export const ADMIN_QUEUE_LIMIT = 500;

/**
 * The `/admin` namespace: administrators only (refused at the handshake with `forbidden` otherwise). On
 * connect an admin gets the live queue (`admin:sessions`), then every change as `admin:session`, told by
 * the replica where it happened to the admins of every replica. An administrator watches a session
 * (read-only: its messages and AI deltas as the user sees them), takes it over, writes in it, and hands
 * it back. Events are acknowledged, validated and rate-limited as on `/chat`.
 */
@WebSocketGateway({ namespace: '/admin' })
@UseInterceptors(AckInterceptor)
@UsePipes(PayloadValidationPipe)
export class AdminGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  private readonly logger = new Logger(AdminGateway.name);
  private namespace?: AdminNamespace;

  constructor(
    private readonly config: AppConfig,
    private readonly verifier: JwtVerifier,
    private readonly limiter: ConnectionLimiter,
    private readonly sessions: SessionService,
    private readonly takeover: TakeoverService,
    private readonly events: SessionEvents,
    private readonly broadcaster: RoomBroadcaster,
    @InjectMetric(SOCKETS_CONNECTED) private readonly sockets: Gauge<string>,
    @InjectMetric(ADMINS_CONNECTED) private readonly admins: Gauge<string>,
  ) {}

  afterInit(namespace: AdminNamespace): void {
    this.namespace = namespace;
    namespace.use(this.limiter.connectLimit());
    namespace.use(socketAuthMiddleware(this.verifier, true));
    this.broadcaster.attachAdmin(namespace);
    this.events.on('session.changed', async ({ sessionId }) => {
      const session = await this.sessions.adminView(sessionId);
      namespace.to(ADMINS_ROOM).emit('admin:session', { ...session, removed: session.status !== 'active' });
    });
  }

  async handleConnection(socket: AdminSocket): Promise<void> {
    rejectUnknownEvents(socket, ADMIN_EVENTS);
    socket.data.watching = new Set();
    this.sockets.inc({ namespace: 'admin' });
    this.admins.set(this.localAdminIds().length);
    // An admin sees every user's sessions: the socket closes when its token expires, as on /chat.
    setTimeoutAt(
      socket.data.principal.exp * 1000 + this.config.auth.clockSkewS * 1000,
      () => {
        socket.emit('error', { code: 'token_expired', message: 'The token has expired', recoverable: true });
        socket.disconnect(true);
      },
      (timer) => (socket.data.expiry = timer),
    );
    // Joined before the snapshot is read, so no change is missed; an upsert may arrive before the
    // snapshot, which is why views carry `rev`.
    await socket.join(ADMINS_ROOM);
    try {
      socket.emit('admin:sessions', await this.sessions.adminQueue(ADMIN_QUEUE_LIMIT));
    } catch (error) {
      this.logger.warn({ err: error, userId: socket.data.principal.userId }, 'admin queue not read');
      socket.emit('error', { code: 'unavailable', message: 'The session queue could not be read', recoverable: true });
    }
  }

  handleDisconnect(socket: AdminSocket): void {
    clearTimeout(socket.data.expiry);
    this.sockets.dec({ namespace: 'admin' });
    this.admins.set(this.localAdminIds().length);
  }

  /** Streams the session read-only; the answer holds its newest page and the reply in flight. */
  @SubscribeMessage('admin:watch')
  watch(@ConnectedSocket() socket: AdminSocket, @MessageBody() payload: AdminSessionRefPayload) {
    const { sessionId } = payload;
    // Joined before the reads: whatever the reply in flight says after them arrives as deltas.
    return this.takeover.watch(this.actor(socket), sessionId, async () => {
      socket.data.watching.add(sessionId);
      await socket.join(sessionRoom(sessionId));
    });
  }

  /** Stops the session's events, also for the administrator holding it. */
  @SubscribeMessage('admin:unwatch')
  async unwatch(@ConnectedSocket() socket: AdminSocket, @MessageBody() payload: AdminSessionRefPayload) {
    socket.data.watching.delete(payload.sessionId);
    await socket.leave(sessionRoom(payload.sessionId));
    return {};
  }

  /** Takes the session over: the AI stops, and user messages reach this administrator. */
  @SubscribeMessage('admin:join')
  async join(@ConnectedSocket() socket: AdminSocket, @MessageBody() payload: AdminSessionRefPayload) {
    const room = sessionRoom(payload.sessionId);
    // Joined first, so nothing said once the session is this administrator's is missed; left again when
    // the takeover was refused, unless the socket watches the session.
    await socket.join(room);
    try {
      return await this.takeover.join(this.actor(socket), payload.sessionId);
    } catch (error) {
      if (!socket.data.watching.has(payload.sessionId)) await socket.leave(room);
      throw error;
    }
  }

  /** Hands the session back to the AI. The administrator keeps watching it until `admin:unwatch`. */
  @SubscribeMessage('admin:leave')
  leave(@ConnectedSocket() socket: AdminSocket, @MessageBody() payload: AdminSessionRefPayload) {
    return this.takeover.leave(this.actor(socket), payload.sessionId);
  }

  @SubscribeMessage('admin:message')
  message(@ConnectedSocket() socket: AdminSocket, @MessageBody() payload: AdminMessagePayload) {
    return this.takeover.message(this.actor(socket), payload);
  }

  @SubscribeMessage('admin:typing')
  @RateBudget('typing')
  async typing(@ConnectedSocket() socket: AdminSocket, @MessageBody() payload: AdminTypingPayload) {
    await this.takeover.typing(this.actor(socket), payload.sessionId, payload.isTyping);
    return {};
  }

  /** The administrators with a socket on this replica: their holds are kept while they are here. */
  localAdminIds(): string[] {
    const ids = new Set<string>();
    for (const socket of this.namespace?.sockets.values() ?? []) ids.add(socket.data.principal.userId);
    return [...ids];
  }

  private actor(socket: AdminSocket): AdminActor {
    return { principal: socket.data.principal, requestId: randomUUID() };
  }
}

const ADMIN_EVENTS = subscribedEvents(AdminGateway);
