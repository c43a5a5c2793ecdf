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
  WebSocketServer,
} from '@nestjs/websockets';
import { Gauge } from 'prom-client';
import type { DefaultEventsMap, Namespace, Socket } from 'socket.io';
import { JwtVerifier } from '../auth/jwt-verifier.service';
import { Principal } from '../auth/principal';
import { socketAuthMiddleware, SocketData } from '../auth/socket-auth.middleware';
import { AppError } from '../common/errors/app-error';
import { ServerToClientEvents } from '../common/realtime/client-events';
import { RoomBroadcaster, sessionRoom, userRoom } from '../common/realtime/room-broadcaster';
import { setTimeoutAt } from '../common/timers/timeout-at';
import { AppConfig } from '../config/app-config';
import { LlmService } from '../llm/llm.service';
import { SOCKETS_CONNECTED } from '../metrics/chatbox.metrics';
import { MessageRouter } from '../router/message-router.service';
import { AckInterceptor } from './ack.interceptor';
import { ConnectionLimiter } from './connection-limiter.service';
import {
  AuthRefreshPayload,
  HelpRequestPayload,
  ResumeSessionPayload,
  SelectModelPayload,
  SendMessagePayload,
  SessionRefPayload,
  StartSessionPayload,
  StopMessagePayload,
  TypingPayload,
} from './payloads/chat.payloads';
import { RateBudget } from './rate-budget.decorator';
import { PayloadValidationPipe } from './payload-validation.pipe';
import { rejectUnknownEvents, subscribedEvents } from './unknown-events';

export interface ChatSocketData extends SocketData {
  sessionIds: Set<string>;
  expiryTimers: NodeJS.Timeout[];
}

type ChatSocket = Socket<DefaultEventsMap, ServerToClientEvents, DefaultEventsMap, ChatSocketData>;

/** The `/chat` namespace: transport only — authenticate, validate, call one service, answer. */
@WebSocketGateway({ namespace: '/chat' })
@UseInterceptors(AckInterceptor)
@UsePipes(PayloadValidationPipe)
export class ChatGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  private readonly logger = new Logger(ChatGateway.name);
  @WebSocketServer() private readonly namespace?: Namespace;

  constructor(
    private readonly config: AppConfig,
    private readonly verifier: JwtVerifier,
    private readonly router: MessageRouter,
    private readonly llm: LlmService,
    private readonly broadcaster: RoomBroadcaster,
    @InjectMetric(SOCKETS_CONNECTED) private readonly sockets: Gauge<string>,
    private readonly limiter: ConnectionLimiter,
  ) {}

  afterInit(namespace: Namespace): void {
    this.limiter.attach(namespace);
    // Counted before the token is verified, so refused handshakes count too.
    namespace.use(this.limiter.connectLimit());
    namespace.use(socketAuthMiddleware(this.verifier));
    this.broadcaster.attach(namespace);
  }

  async handleConnection(socket: ChatSocket): Promise<void> {
    rejectUnknownEvents(socket, CHAT_EVENTS);
    socket.data.sessionIds = new Set();
    socket.data.expiryTimers = [];
    this.sockets.inc({ namespace: 'chat' });
    await socket.join(userRoom(socket.data.principal.userId));
    this.scheduleExpiry(socket);
    socket.emit('models', this.llm.listModels());
    await this.limiter.admit(socket);
  }

  // A device leaving never stops a reply: a reload or a network change is back within moments, and the
  // turn engine stops replies nobody has been there to read for TURN_ABANDON_AFTER_MS.
  handleDisconnect(socket: ChatSocket): void {
    socket.data.expiryTimers?.forEach(clearTimeout);
    this.sockets.dec({ namespace: 'chat' });
  }

  @SubscribeMessage('session:start')
  async start(@ConnectedSocket() socket: ChatSocket, @MessageBody() payload: StartSessionPayload) {
    const session = await this.router.startSession(socket.data.principal, payload.modelId);
    for (const id of socket.data.sessionIds) await socket.leave(sessionRoom(id));
    socket.data.sessionIds.clear();
    await this.joinSession(socket, session.id);
    return { sessionId: session.id, ...session };
  }

  @SubscribeMessage('session:resume')
  async resume(@ConnectedSocket() socket: ChatSocket, @MessageBody() payload: ResumeSessionPayload) {
    // Joined first: whatever the reply in flight says after this, the device receives as deltas.
    await this.router.authorize(socket.data.principal, payload.sessionId);
    await this.joinSession(socket, payload.sessionId);
    return this.router.resume(socket.data.principal, payload.sessionId, {
      afterSeq: payload.afterSeq,
      limit: payload.limit,
    });
  }

  @SubscribeMessage('message:send')
  async send(@ConnectedSocket() socket: ChatSocket, @MessageBody() payload: SendMessagePayload) {
    if (!socket.data.sessionIds.has(payload.sessionId)) {
      // Joined before the send, so this device receives its own message and the reply.
      await this.router.authorize(socket.data.principal, payload.sessionId);
      await this.joinSession(socket, payload.sessionId);
    }
    return this.router.send(socket.data.principal, payload);
  }

  @SubscribeMessage('message:stop')
  stop(@ConnectedSocket() socket: ChatSocket, @MessageBody() payload: StopMessagePayload) {
    return this.router.stop(socket.data.principal, payload.sessionId, payload.messageId);
  }

  @SubscribeMessage('model:select')
  selectModel(@ConnectedSocket() socket: ChatSocket, @MessageBody() payload: SelectModelPayload) {
    return this.router.selectModel(socket.data.principal, payload.sessionId, payload.modelId);
  }

  @SubscribeMessage('typing')
  @RateBudget('typing')
  typing(@ConnectedSocket() socket: ChatSocket, @MessageBody() payload: TypingPayload) {
    if (!socket.data.sessionIds.has(payload.sessionId)) throw new AppError('not_found', 'Session not joined');
    const typing = {
      sessionId: payload.sessionId,
      userId: socket.data.principal.userId,
      isTyping: payload.isTyping,
      sender: 'user' as const,
      name: socket.data.principal.name ?? null,
    };
    // The user's other devices (not this one), and the administrators watching or holding the session.
    socket.to(sessionRoom(payload.sessionId)).emit('typing', typing);
    this.broadcaster.toAdminsIn(payload.sessionId, 'typing', typing);
    return {};
  }

  @SubscribeMessage('help:request')
  async requestHelp(@ConnectedSocket() socket: ChatSocket, @MessageBody() payload: HelpRequestPayload) {
    const session = await this.router.requestHelp(socket.data.principal, payload.sessionId, payload.reason);
    if (!socket.data.sessionIds.has(session.id)) await this.joinSession(socket, session.id);
    return { sessionId: session.id, ...session };
  }

  @SubscribeMessage('help:cancel')
  async cancelHelp(@ConnectedSocket() socket: ChatSocket, @MessageBody() payload: SessionRefPayload) {
    const session = await this.router.cancelHelp(socket.data.principal, payload.sessionId);
    return { sessionId: session.id, ...session };
  }

  @SubscribeMessage('session:end')
  end(@ConnectedSocket() socket: ChatSocket, @MessageBody() payload: SessionRefPayload) {
    return this.router.endSession(socket.data.principal, payload.sessionId);
  }

  @SubscribeMessage('auth:refresh')
  async refresh(@ConnectedSocket() socket: ChatSocket, @MessageBody() payload: AuthRefreshPayload) {
    const principal: Principal = await this.verifier.verify(payload.token);
    if (principal.userId !== socket.data.principal.userId) {
      throw new AppError('forbidden', 'The new token is for another user');
    }
    socket.data.principal = principal;
    this.scheduleExpiry(socket);
    return { expiresAt: new Date(principal.exp * 1000).toISOString() };
  }

  /** Session ids this replica's sockets keep alive (refreshed by the presence heartbeat). */
  localSessionIds(): string[] {
    const ids = new Set<string>();
    for (const socket of this.namespace?.sockets.values() ?? []) {
      for (const id of (socket.data as ChatSocketData).sessionIds ?? []) ids.add(id);
    }
    return [...ids];
  }

  private async joinSession(socket: ChatSocket, sessionId: string): Promise<void> {
    socket.data.sessionIds.add(sessionId);
    await socket.join(sessionRoom(sessionId));
  }

  /**
   * `auth:expiring` ahead of `exp`; at `exp` (plus the allowed skew) the socket is closed. A token may
   * live longer than one timer can wait, so each deadline is reached in steps; its slot in
   * `expiryTimers` always holds the live step, which a refresh or a disconnect clears.
   */
  private scheduleExpiry(socket: ChatSocket): void {
    socket.data.expiryTimers.forEach(clearTimeout);
    const timers: NodeJS.Timeout[] = [];
    socket.data.expiryTimers = timers;
    const { expiryWarningS, clockSkewS } = this.config.auth;
    const expiresAtMs = socket.data.principal.exp * 1000;
    const at = (atMs: number, what: string, task: () => void): void => {
      const slot = timers.length;
      setTimeoutAt(
        atMs,
        () => this.guarded(socket, what, task),
        (timer) => (timers[slot] = timer),
      );
    };
    at(expiresAtMs - expiryWarningS * 1000, 'expiry warning', () =>
      socket.emit('auth:expiring', { expiresAt: new Date(expiresAtMs).toISOString() }),
    );
    at(expiresAtMs + clockSkewS * 1000, 'expiry', () => {
      this.logger.log({ userId: socket.data.principal.userId }, 'token expired: disconnecting socket');
      socket.emit('error', { code: 'token_expired', message: 'The token has expired', recoverable: true });
      socket.disconnect(true);
    });
  }

  /** Timer callbacks run outside any request: whatever they throw is logged here, never thrown into the process. */
  private guarded(socket: ChatSocket, what: string, task: () => void): void {
    try {
      task();
    } catch (error) {
      this.logger.error({ err: error, userId: socket.data.principal.userId }, `socket ${what} failed`);
    }
  }
}

const CHAT_EVENTS = subscribedEvents(ChatGateway);
