import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Histogram } from 'prom-client';
import { Principal } from '../auth/principal';
import { AppError } from '../common/errors/app-error';
import { ProtocolError } from '../common/realtime/client-events';
import { RoomBroadcaster } from '../common/realtime/room-broadcaster';
import { AppConfig } from '../config/app-config';
import { GenerationRegistryStore } from '../coordination/generation-registry.store';
import { ModelConfig } from '../config/llm-models';
import { LlmError } from '../llm/llm.errors';
import { LlmService } from '../llm/llm.service';
import { buildPrompt } from '../llm/prompt-builder';
import { AI_TURNS, FIRST_DELTA, TURN_DURATION } from '../metrics/chatbox.metrics';
import { MessageView, SessionView } from '../session/session-views';
import { SessionService } from '../session/session.service';
import { DeltaCoalescer } from './delta-coalescer';

const CLAIM_TTL_MS = 30000;
const DELTA_FRAME_MS = 25;

export interface SendInput {
  sessionId: string;
  clientMessageId: string;
  content: string;
}

/**
 * Where messages go. A user message is persisted first (seq, idempotent on clientMessageId), then
 * fanned out to the session's room, then answered by an AI turn. One turn runs per session at a
 * time across the cluster: whichever replica claims the session answers its pending user
 * messages in seq order, so back-to-back messages never interleave.
 */
@Injectable()
export class MessageRouter implements BeforeApplicationShutdown {
  private readonly logger = new Logger(MessageRouter.name);
  private readonly instanceId = randomUUID();
  /** Turns this replica is running, to abort on stop; the claim in the registry is the truth. */
  private readonly running = new Map<string, AbortController>();
  private readonly drives = new Set<Promise<void>>();
  private closing = false;

  constructor(
    private readonly config: AppConfig,
    private readonly sessions: SessionService,
    private readonly llm: LlmService,
    private readonly registry: GenerationRegistryStore,
    private readonly broadcaster: RoomBroadcaster,
    @InjectMetric(AI_TURNS) private readonly turns: Counter<string>,
    @InjectMetric(TURN_DURATION) private readonly turnDuration: Histogram<string>,
    @InjectMetric(FIRST_DELTA) private readonly firstDelta: Histogram<string>,
  ) {
    registry.onStop((sessionId) => this.running.get(sessionId)?.abort('stopped'));
  }

  /** A new session on the chosen (or default) model; the user's other devices learn of it. */
  async startSession(principal: Principal, modelId?: string): Promise<SessionView> {
    const model = this.llm.model(modelId ?? this.llm.defaultModelId);
    const { session, endedSessionId } = await this.sessions.start(principal, model.id);
    if (endedSessionId) {
      this.broadcaster.toSession(endedSessionId, 'session:state', { ...(await this.sessions.view(endedSessionId)) });
    }
    this.broadcaster.toUser(principal.userId, 'session:state', { ...session });
    return session;
  }

  /** Throws not_found unless the principal owns the session. */
  async authorize(principal: Principal, sessionId: string): Promise<void> {
    await this.sessions.getOwned(principal, sessionId);
  }

  async resume(
    principal: Principal,
    sessionId: string,
    afterSeq = 0,
  ): Promise<{ session: SessionView; messages: MessageView[] }> {
    const session = this.sessions.toView(await this.sessions.getOwned(principal, sessionId));
    return { session, messages: await this.sessions.messagesAfter(sessionId, afterSeq) };
  }

  async selectModel(principal: Principal, sessionId: string, modelId: string): Promise<SessionView> {
    const session = await this.sessions.selectModel(principal, sessionId, this.llm.model(modelId).id);
    this.broadcaster.toSession(sessionId, 'session:state', { ...session });
    return session;
  }

  async endSession(principal: Principal, sessionId: string): Promise<SessionView> {
    const session = await this.sessions.end(principal, sessionId);
    await this.registry.requestStop(sessionId);
    this.broadcaster.toSession(sessionId, 'session:state', { ...session });
    return session;
  }

  /**
   * Starts the turns owed to sessions whose devices this replica holds: after a replica died or
   * restarted with messages queued, they are answered without waiting for the next message.
   * A session another replica is answering keeps its claim, so nothing runs twice.
   */
  async resumeOwedTurns(sessionIds: string[]): Promise<void> {
    if (this.closing) return;
    for (const sessionId of await this.sessions.owingTurns(sessionIds)) {
      if (!this.running.has(sessionId)) this.startDrive(sessionId);
    }
  }

  /** Ends sessions no device kept alive for the reconnect window and tells whoever still listens. */
  async sweep(): Promise<string[]> {
    const ended = await this.sessions.sweep(this.config.chat.reconnectWindowMs);
    for (const sessionId of ended) {
      this.broadcaster.toSession(sessionId, 'session:state', { ...(await this.sessions.view(sessionId)) });
    }
    return ended;
  }

  async send(principal: Principal, input: SendInput): Promise<{ messageId: string; seq: number }> {
    if ([...input.content].length > this.config.chat.maxMessageChars) {
      throw new AppError('invalid_payload', `content is longer than ${this.config.chat.maxMessageChars} characters`);
    }
    if (input.content.trim() === '') throw new AppError('invalid_payload', 'content is empty');
    const session = await this.sessions.getActiveOwned(principal, input.sessionId);
    if ((await this.sessions.pendingCount(session._id)) > this.config.chat.turnQueueLimit) {
      throw new AppError('busy', 'The assistant is still answering earlier messages');
    }
    const { message, duplicate } = await this.sessions.append(input.sessionId, {
      sender: 'user',
      senderId: principal.userId,
      senderName: principal.name,
      content: input.content,
      clientMessageId: input.clientMessageId,
    });
    if (!duplicate) {
      this.broadcaster.toSession(input.sessionId, 'message:new', { ...message });
      this.startDrive(input.sessionId);
    }
    return { messageId: message.id, seq: message.seq };
  }

  /** Stops the reply being generated, on whichever replica runs it. */
  async stop(principal: Principal, sessionId: string): Promise<void> {
    await this.sessions.getOwned(principal, sessionId);
    await this.registry.requestStop(sessionId);
  }

  /** No device of the session is connected anywhere: stop the reply being generated. */
  async abandon(sessionId: string): Promise<void> {
    // Shutting down disconnects every device; those replies are interrupted, not abandoned.
    if (this.closing) return;
    await this.registry.requestStop(sessionId);
  }

  // Runs before Nest closes the socket server: interrupted turns save their partial replies and send
  // their ai:error while clients and the adapter are still connected. The shutdown deadline bounds it.
  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    for (const controller of this.running.values()) controller.abort('interrupted');
    await Promise.allSettled([...this.drives]);
  }

  private startDrive(sessionId: string): void {
    const drive = this.drive(sessionId).catch((error: unknown) =>
      this.logger.error({ err: error, sessionId }, 'AI turn loop failed'),
    );
    this.drives.add(drive);
    void drive.finally(() => this.drives.delete(drive));
  }

  private async drive(sessionId: string): Promise<void> {
    const owner = `${this.instanceId}:${randomUUID()}`;
    if (!(await this.registry.claim(sessionId, owner, CLAIM_TTL_MS))) return;
    const renew = setInterval(() => void this.registry.renew(sessionId, owner, CLAIM_TTL_MS), CLAIM_TTL_MS / 3);
    try {
      for (
        let next = await this.sessions.nextPending(sessionId);
        next && !this.closing;
        next = await this.sessions.nextPending(sessionId)
      ) {
        await this.runTurn(sessionId, next);
        await this.sessions.markAnswered(next.id);
      }
    } finally {
      clearInterval(renew);
      await this.registry.release(sessionId, owner);
    }
    // A message persisted between the last check and the release found the claim taken: answer it.
    if (!this.closing && (await this.sessions.nextPending(sessionId))) this.startDrive(sessionId);
  }

  private async runTurn(sessionId: string, userMessage: MessageView): Promise<void> {
    const session = await this.sessions.view(sessionId);
    const history = (await this.sessions.messagesAfter(sessionId, 0)).filter((m) => m.seq < userMessage.seq);
    const messageId = randomUUID();
    const controller = new AbortController();
    this.running.set(sessionId, controller);
    const startedAt = Date.now();
    let firstDeltaMs: number | undefined;
    let text = '';
    let usage: { promptTokens: number; completionTokens: number; estimated: boolean } | undefined;
    let finishReason = 'stop';
    let answering = this.llm.model(session.modelId);
    const coalescer = new DeltaCoalescer(DELTA_FRAME_MS, (index, delta) =>
      this.broadcaster.toSession(sessionId, 'ai:delta', { sessionId, messageId, index, text: delta }),
    );
    this.broadcaster.toSession(sessionId, 'ai:start', { sessionId, messageId });
    let failure: unknown;
    try {
      const stream = this.llm.streamTurn({
        modelId: session.modelId,
        messages: buildPrompt(answering, history, userMessage.content),
        userId: userMessage.senderId ?? '',
        sessionId,
        conversationId: await this.sessions.providerConversation(sessionId),
        signal: controller.signal,
      });
      for await (const event of stream) {
        if (event.type === 'delta') {
          firstDeltaMs ??= Date.now() - startedAt;
          text += event.text;
          coalescer.push(event.text);
        } else if (event.type === 'model') answering = event.model;
        else if (event.type === 'usage') {
          usage = {
            promptTokens: event.promptTokens,
            completionTokens: event.completionTokens,
            estimated: event.estimated,
          };
        } else if (event.type === 'conversation')
          await this.sessions.setProviderConversation(sessionId, event.conversationId);
        else finishReason = event.finishReason;
      }
    } catch (error) {
      if (controller.signal.reason === 'stopped') finishReason = 'stopped';
      else failure = error;
    } finally {
      this.running.delete(sessionId);
    }
    // Every delta goes out before the turn's single terminal event.
    coalescer.flush();
    const turn = { text, firstDeltaMs, startedAt, model: answering };
    try {
      if (failure !== undefined) await this.fail(sessionId, messageId, failure, turn);
      else {
        const status = finishReason === 'stopped' ? 'stopped' : 'complete';
        await this.finish(sessionId, messageId, { ...turn, status, finishReason, usage });
      }
    } catch (error) {
      this.logger.error({ err: error, sessionId }, 'AI reply could not be saved');
      const saveError = { code: 'unavailable', message: 'The reply could not be saved', recoverable: true };
      this.broadcaster.toSession(sessionId, 'ai:error', { sessionId, messageId, error: saveError });
    }
  }

  private async finish(
    sessionId: string,
    messageId: string,
    turn: {
      text: string;
      status: 'complete' | 'stopped';
      finishReason: string;
      usage?: { promptTokens: number; completionTokens: number; estimated: boolean };
      firstDeltaMs?: number;
      startedAt: number;
      model: ModelConfig;
    },
  ): Promise<void> {
    const totalMs = Date.now() - turn.startedAt;
    const labels = { provider: turn.model.provider, model: turn.model.id };
    const { message } = await this.sessions.append(sessionId, {
      id: messageId,
      sender: 'ai',
      inFlight: true,
      content: turn.text,
      status: turn.status,
      model: turn.model.id,
      finishReason: turn.finishReason,
      usage: turn.usage,
      latency: { firstDeltaMs: turn.firstDeltaMs, totalMs },
    });
    await this.sessions.recordTurn(
      sessionId,
      { prompt: turn.usage?.promptTokens ?? 0, completion: turn.usage?.completionTokens ?? 0 },
      { responseMs: turn.firstDeltaMs ?? totalMs, turnMs: totalMs },
    );
    this.turns.inc({ outcome: turn.status });
    this.turnDuration.observe(labels, totalMs / 1000);
    if (turn.firstDeltaMs !== undefined) this.firstDelta.observe(labels, turn.firstDeltaMs / 1000);
    this.broadcaster.toSession(sessionId, 'ai:end', {
      sessionId,
      messageId,
      seq: message.seq,
      usage: turn.usage,
      finishReason: turn.finishReason,
    });
  }

  private async fail(
    sessionId: string,
    messageId: string,
    cause: unknown,
    turn: { text: string; firstDeltaMs?: number; startedAt: number; model: ModelConfig },
  ): Promise<void> {
    const error: ProtocolError =
      cause instanceof LlmError
        ? { code: cause.code, message: cause.message, recoverable: cause.retryable }
        : cause instanceof AppError
          ? { code: cause.code, message: cause.message, recoverable: cause.code !== 'session_ended' }
          : { code: 'unavailable', message: 'The assistant could not answer', recoverable: true };
    this.logger.warn({ err: cause, sessionId, code: error.code }, 'AI turn failed');
    this.turns.inc({ outcome: turn.text ? 'interrupted' : 'failed' });
    let seq: number | undefined;
    try {
      // The partial reply is kept, marked, so a resumed client shows what was said.
      ({
        message: { seq },
      } = await this.sessions.append(sessionId, {
        id: messageId,
        sender: 'ai',
        inFlight: true,
        content: turn.text,
        status: turn.text ? 'interrupted' : 'failed',
        model: turn.model.id,
        finishReason: 'error',
        latency: { firstDeltaMs: turn.firstDeltaMs, totalMs: Date.now() - turn.startedAt },
      }));
    } catch (persistError) {
      if (!(persistError instanceof AppError && persistError.code === 'session_ended')) throw persistError;
    }
    this.broadcaster.toSession(sessionId, 'ai:error', { sessionId, messageId, seq, error });
  }
}
