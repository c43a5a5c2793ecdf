import { Injectable } from '@nestjs/common';
import { Principal } from '../auth/principal';
import { AppError } from '../common/errors/app-error';
import { RoomBroadcaster } from '../common/realtime/room-broadcaster';
import { isEmptyMessage } from '../common/validation/not-blank.decorator';
import { AppConfig } from '../config/app-config';
import { withDbRetry } from '../database/db-retry';
import { LlmService } from '../llm/llm.service';
import { MessageView, SessionView, TranscriptPage } from '../session/session-views';
import { SessionService } from '../session/session.service';
import { InFlightReply, TurnEngine } from '../turn/turn-engine.service';
import { UploadService } from '../upload/upload.service';
import { routeUserMessage } from './route-decision';

export interface SendInput {
  sessionId: string;
  clientMessageId: string;
  content: string;
  fileIds?: string[];
}

export interface ResumeResult extends TranscriptPage {
  session: SessionView;
  /** The reply streaming now, if any: render `text`, then only deltas with an index above `index`. */
  inFlight: InFlightReply | null;
}

/** How long a send keeps retrying a database that is momentarily unavailable; it is idempotent. */
const SEND_RETRY_MS = 5000;

/**
 * Where a message goes, and nothing more: a user message is persisted first (seq, idempotent on
 * clientMessageId), fanned out to the session's room, then handed to whoever owns the session — the
 * turn engine for the AI. Session lifecycle events are told to the session's devices.
 */
@Injectable()
export class MessageRouter {
  constructor(
    private readonly config: AppConfig,
    private readonly sessions: SessionService,
    private readonly turns: TurnEngine,
    private readonly llm: LlmService,
    private readonly broadcaster: RoomBroadcaster,
    private readonly uploads: UploadService,
  ) {}

  /** A new session on the chosen (or default) model; the previous one ends, with its reply in flight. */
  async startSession(principal: Principal, modelId?: string): Promise<SessionView> {
    const model = this.llm.model(modelId ?? this.llm.defaultModelId);
    const { session, ended } = await this.sessions.start(principal, model.id);
    if (ended) {
      await this.turns.stop(ended.id, 'session_ended');
      this.broadcaster.toSession(ended.id, 'session:state', { ...ended });
    }
    this.broadcaster.toUser(principal.userId, 'session:state', { ...session });
    return session;
  }

  /** Throws not_found unless the principal owns the session. */
  async authorize(principal: Principal, sessionId: string): Promise<void> {
    await this.sessions.getOwned(principal, sessionId);
  }

  /**
   * The session, one page of its transcript and the reply in flight. Called after the device joined
   * the session's room, so every frame after what `inFlight` holds reaches it as a delta.
   */
  async resume(
    principal: Principal,
    sessionId: string,
    page: { afterSeq?: number; beforeSeq?: number; limit?: number } = {},
  ): Promise<ResumeResult> {
    const record = await this.sessions.getOwned(principal, sessionId);
    const inFlight = await this.turns.inFlight(sessionId);
    const transcript = await this.sessions.transcript(sessionId, page);
    // Messages still owed after a restart are answered once a device is back.
    if (record.status === 'active') this.turns.kick(sessionId);
    return { session: this.sessions.toView(record), ...transcript, inFlight };
  }

  async selectModel(principal: Principal, sessionId: string, modelId: string): Promise<SessionView> {
    const session = await this.sessions.selectModel(principal, sessionId, this.llm.model(modelId).id);
    this.broadcaster.toSession(sessionId, 'session:state', { ...session });
    return session;
  }

  async endSession(principal: Principal, sessionId: string): Promise<SessionView> {
    const session = await this.sessions.end(principal, sessionId);
    await this.turns.stop(sessionId, 'session_ended');
    this.broadcaster.toSession(sessionId, 'session:state', { ...session });
    return session;
  }

  async send(principal: Principal, input: SendInput): Promise<{ messageId: string; seq: number }> {
    if ([...input.content].length > this.config.chat.maxMessageChars) {
      throw new AppError('invalid_payload', `content is longer than ${this.config.chat.maxMessageChars} characters`);
    }
    // Files alone (a voice note) may come without text; blank text is never stored.
    if (isEmptyMessage(input.content, input.fileIds)) {
      throw new AppError('invalid_payload', 'content is empty');
    }
    // Read together: the count says nothing about a session the caller does not own, and is used only after.
    const [session, pending] = await Promise.all([
      this.sessions.getActiveOwned(principal, input.sessionId),
      this.sessions.pendingCount(input.sessionId),
    ]);
    const route = routeUserMessage(session.owner);
    if (route.to === 'ai' && pending > this.config.chat.turnQueueLimit) {
      throw new AppError('busy', 'The assistant is still answering earlier messages');
    }
    const files = input.fileIds?.length ? await this.uploads.attach(principal, session._id, input.fileIds) : [];
    const { message } = await withDbRetry(
      () =>
        this.sessions.appendUserMessage(session, {
          senderId: principal.userId,
          senderName: principal.name,
          content: input.content,
          clientMessageId: input.clientMessageId,
          owed: route.to === 'ai',
          files,
        }),
      { deadline: Date.now() + SEND_RETRY_MS },
    );
    // A resend is told again (devices de-duplicate by id): its first attempt may have been stored without
    // being fanned out, or without its turn starting, just before a crash or a lost acknowledgement.
    this.broadcaster.toSession(input.sessionId, 'message:new', { ...message });
    // The message just stored is most likely the next one owed: the turn starts from it, and checks.
    if (route.to === 'ai') this.turns.kick(input.sessionId, { ...message, attempt: 0 });
    return { messageId: message.id, seq: message.seq };
  }

  /**
   * Asks for a human on the given session, or on the user's active one (started if there is none, so a
   * user may ask before writing anything). Idempotent while a request is open.
   */
  async requestHelp(principal: Principal, sessionId: string | undefined, reason?: string): Promise<SessionView> {
    const id = sessionId ?? (await this.activeOrNewSession(principal));
    if (sessionId) await this.sessions.getActiveOwned(principal, sessionId);
    const { session, marker } = await this.sessions.requestHelp(id, {
      source: 'user',
      requestedBy: principal.userId,
      reason: reason?.trim(),
    });
    this.tellHelpChanged(principal, session, marker);
    return session;
  }

  /** Withdraws the session's open help request; idempotent when none is open. */
  async cancelHelp(principal: Principal, sessionId: string): Promise<SessionView> {
    await this.sessions.getOwned(principal, sessionId);
    const { session, marker } = await this.sessions.cancelHelp(sessionId, 'user');
    this.tellHelpChanged(principal, session, marker);
    return session;
  }

  private async activeOrNewSession(principal: Principal): Promise<string> {
    const { session, started } = await this.sessions.activeOrStart(principal, this.llm.defaultModelId);
    if (started) this.broadcaster.toUser(principal.userId, 'session:state', { ...session });
    return session.id;
  }

  private tellHelpChanged(principal: Principal, session: SessionView, marker?: MessageView): void {
    if (marker) this.broadcaster.toSessionAndUser(session.id, principal.userId, 'message:new', { ...marker });
    this.broadcaster.toSessionAndUser(session.id, principal.userId, 'session:state', { ...session });
  }

  /** Stops the running reply (that one, when `messageId` is given), on whichever replica runs it. */
  async stop(principal: Principal, sessionId: string, messageId?: string): Promise<{ stopping: boolean }> {
    await this.sessions.getOwned(principal, sessionId);
    return { stopping: await this.turns.stop(sessionId, 'stopped', messageId) };
  }

  /** Starts the turns owed to sessions whose devices this replica holds (after a replica stopped mid-queue). */
  async resumeOwedTurns(sessionIds: string[]): Promise<void> {
    for (const sessionId of await this.sessions.owingTurns(sessionIds)) this.turns.kick(sessionId);
  }

  /** Ends sessions no device kept alive for the reconnect window, stops their replies, tells whoever listens. */
  async sweep(): Promise<string[]> {
    const ended = await this.sessions.sweep(this.config.chat.reconnectWindowMs);
    for (const sessionId of ended) {
      await this.turns.stop(sessionId, 'session_ended');
      this.broadcaster.toSession(sessionId, 'session:state', { ...(await this.sessions.view(sessionId)) });
    }
    return ended;
  }
}
