import { Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import { Gauge } from 'prom-client';
import type { DefaultEventsMap, Namespace, Socket } from 'socket.io';
import { JwtVerifier } from '../auth/jwt-verifier.service';
import { socketAuthMiddleware, SocketData } from '../auth/socket-auth.middleware';
import { ConnectionLimiter } from '../gateway/connection-limiter.service';
import { SOCKETS_CONNECTED } from '../metrics/chatbox.metrics';
import { SessionEvents } from '../session/session-events';
import { SessionService } from '../session/session.service';
import { AdminServerToClientEvents } from './admin-events';

type AdminSocket = Socket<DefaultEventsMap, AdminServerToClientEvents, DefaultEventsMap, SocketData>;
type AdminNamespace = Namespace<DefaultEventsMap, AdminServerToClientEvents, DefaultEventsMap, SocketData>;

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
    // Joined before the snapshot is read, so a change made meanwhile arrives after it as an upsert.
    await socket.join(ADMINS_ROOM);
    try {
      socket.emit('admin:sessions', await this.sessions.adminQueue(ADMIN_QUEUE_LIMIT));
    } catch (error) {
      this.logger.warn({ err: error, userId: socket.data.principal.userId }, 'admin queue not read');
      socket.emit('error', { code: 'unavailable', message: 'The session queue could not be read', recoverable: true });
    }
  }

  handleDisconnect(): void {
    this.sockets.dec({ namespace: 'admin' });
  }
}
