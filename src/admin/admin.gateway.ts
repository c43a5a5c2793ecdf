import { Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import { Gauge } from 'prom-client';
import type { DefaultEventsMap, Namespace, Socket } from 'socket.io';
import { JwtVerifier } from '../auth/jwt-verifier.service';
import { socketAuthMiddleware, SocketData } from '../auth/socket-auth.middleware';
import { setTimeoutAt } from '../common/timers/timeout-at';
import { AppConfig } from '../config/app-config';
import { ConnectionLimiter } from '../gateway/connection-limiter.service';
import { SOCKETS_CONNECTED } from '../metrics/chatbox.metrics';
import { SessionEvents } from '../session/session-events';
import { SessionService } from '../session/session.service';
import { AdminServerToClientEvents } from './admin-events';

interface AdminSocketData extends SocketData {
  expiry?: NodeJS.Timeout;
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
 * the replica where it happened to the admins of every replica.
 */
@WebSocketGateway({ namespace: '/admin' })
export class AdminGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  private readonly logger = new Logger(AdminGateway.name);

  constructor(
    private readonly config: AppConfig,
    private readonly verifier: JwtVerifier,
    private readonly limiter: ConnectionLimiter,
    private readonly sessions: SessionService,
    private readonly events: SessionEvents,
    @InjectMetric(SOCKETS_CONNECTED) private readonly sockets: Gauge<string>,
  ) {}

  afterInit(namespace: AdminNamespace): void {
    namespace.use(this.limiter.connectLimit());
    namespace.use(socketAuthMiddleware(this.verifier, true));
    this.events.onChanged(async (sessionId) => {
      const session = await this.sessions.adminView(sessionId);
      namespace.to(ADMINS_ROOM).emit('admin:session', { ...session, removed: session.status !== 'active' });
    });
  }

  async handleConnection(socket: AdminSocket): Promise<void> {
    this.sockets.inc({ namespace: 'admin' });
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
  }
}
