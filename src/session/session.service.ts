import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge } from 'prom-client';
import { Principal } from '../auth/principal';
import { AppError } from '../common/errors/app-error';
import { ACTIVE_SESSIONS, MESSAGES } from '../metrics/chatbox.metrics';
import { ContentCipher } from './content-cipher';
import { MessageRecord, MessageRepository } from './message.repository';
import { MessageStatus, Sender } from './schemas/message.schema';
import { isDuplicateKey, SessionCursor, SessionRecord, SessionRepository } from './session.repository';
import { sessionNameFrom } from './session-name';
import { MessageView, SessionView } from './session-views';

export interface NewMessage {
  sender: Sender;
  senderId?: string;
  senderName?: string;
  content: string;
  clientMessageId?: string;
  id?: string;
  status?: MessageStatus;
  model?: string;
  finishReason?: string;
  usage?: { promptTokens: number; completionTokens: number; estimated: boolean };
  latency?: { firstDeltaMs?: number; totalMs: number };
  /** A reply that was under way when the session ended is still saved; new messages are not. */
  inFlight?: boolean;
}

export interface AppendResult {
  message: MessageView;
  /** True when the clientMessageId was seen before: nothing new was stored. */
  duplicate: boolean;
}

const RESUME_LIMIT = 1000;
const SEQ_ATTEMPTS = 5;

/** Conversation lifecycle and the durable record; the facade other modules use. */
@Injectable()
export class SessionService {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly messages: MessageRepository,
    private readonly cipher: ContentCipher,
    @InjectMetric(ACTIVE_SESSIONS) private readonly activeSessions: Gauge<string>,
    @InjectMetric(MESSAGES) private readonly messageCounter: Counter<string>,
  ) {}

  /** A new active session; the user's previous active session (from any device) is ended. */
  async start(principal: Principal, modelId: string): Promise<{ session: SessionView; endedSessionId?: string }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const previous = await this.sessions.findActiveForUser(principal.userId);
      const now = new Date();
      if (previous && (await this.sessions.end(previous, now))) this.activeSessions.dec();
      const record: SessionRecord = {
        _id: randomUUID(),
        userId: principal.userId,
        userName: principal.name,
        status: 'active',
        activeKey: principal.userId,
        modelId,
        startedAt: now,
        lastActivityAt: now,
        lastSeenAt: now,
        messageCount: 0,
        lastSeq: 0,
        tokens: { prompt: 0, completion: 0 },
        responseTime: { count: 0, sumMs: 0, maxMs: 0 },
        turnTime: { count: 0, sumMs: 0, maxMs: 0 },
        assisted: false,
      };
      try {
        await this.sessions.create(record);
        this.activeSessions.inc();
        return { session: this.toView(record), endedSessionId: previous?._id };
      } catch (error) {
        // Another device started one at the same moment: end that one too and try again.
        if (!isDuplicateKey(error)) throw error;
      }
    }
    throw new AppError('busy', 'Sessions are being started concurrently; try again');
  }

  /** The session if the principal owns it; 404 otherwise, so ids of others reveal nothing. */
  async getOwned(principal: Principal, sessionId: string): Promise<SessionRecord> {
    const session = await this.sessions.findById(sessionId);
    if (!session || session.userId !== principal.userId) throw new AppError('not_found', 'Session not found');
    return session;
  }

  async getActiveOwned(principal: Principal, sessionId: string): Promise<SessionRecord> {
    const session = await this.getOwned(principal, sessionId);
    if (session.status !== 'active') throw new AppError('session_ended', 'This session has ended');
    return session;
  }

  /** Idempotent: ending an ended session answers the same. */
  async end(principal: Principal, sessionId: string): Promise<SessionView> {
    const session = await this.getOwned(principal, sessionId);
    if (await this.sessions.end(session, new Date())) this.activeSessions.dec();
    return this.view(sessionId);
  }

  async view(sessionId: string): Promise<SessionView> {
    const session = await this.sessions.findById(sessionId);
    if (!session) throw new AppError('not_found', 'Session not found');
    return this.toView(session);
  }

  async messagesAfter(sessionId: string, afterSeq: number): Promise<MessageView[]> {
    const records = await this.messages.listAfter(sessionId, afterSeq, RESUME_LIMIT);
    return records.map((r) => this.toMessageView(r));
  }

  /** Persists first, with the next seq; a resend with a known clientMessageId returns the stored copy. */
  async append(sessionId: string, input: NewMessage): Promise<AppendResult> {
    const id = input.id ?? randomUUID();
    const clientKey = input.clientMessageId ? `c:${input.clientMessageId}` : `s:${id}`;
    if (input.clientMessageId) {
      const existing = await this.messages.findByClientKey(sessionId, clientKey);
      if (existing) return { message: this.toMessageView(existing), duplicate: true };
    }
    const content = this.cipher.encrypt(input.content);
    let record: MessageRecord | undefined;
    // The unique (sessionId, seq) index is the final guard on ordering. MongoDB's $inc is atomic, so a
    // collision cannot happen there; FerretDB's findAndModify is not, so a collided write takes the next seq.
    for (let attempt = 0; !record && attempt < SEQ_ATTEMPTS; attempt++) {
      const now = new Date();
      const seq = await this.sessions.allocateSeq(sessionId, now, input.inFlight === true);
      if (seq === undefined) throw new AppError('session_ended', 'This session has ended');
      const candidate: MessageRecord = {
        _id: id,
        sessionId,
        seq,
        clientKey,
        sender: input.sender,
        senderId: input.senderId,
        senderName: input.senderName,
        content,
        status: input.status ?? 'complete',
        model: input.model,
        finishReason: input.finishReason,
        usage: input.usage,
        latency: input.latency,
        createdAt: now,
        answered: input.sender === 'user' ? false : undefined,
      };
      try {
        await this.messages.insert(candidate);
        record = candidate;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        await this.sessions.uncount(sessionId);
        const existing = input.clientMessageId ? await this.messages.findByClientKey(sessionId, clientKey) : null;
        if (existing) return { message: this.toMessageView(existing), duplicate: true };
      }
    }
    if (!record) throw new AppError('busy', 'The session is too busy to take the message; try again');
    this.messageCounter.inc({ sender: input.sender });
    if (input.sender === 'user') {
      await this.sessions.setNameIfUnset(sessionId, this.cipher.encrypt(sessionNameFrom(input.content)));
    }
    return { message: this.toMessageView(record), duplicate: false };
  }

  async selectModel(principal: Principal, sessionId: string, modelId: string): Promise<SessionView> {
    await this.getActiveOwned(principal, sessionId);
    if (!(await this.sessions.setModel(sessionId, modelId))) {
      throw new AppError('session_ended', 'This session has ended');
    }
    return this.view(sessionId);
  }

  /** The oldest user message waiting for an AI turn, while the session is active. */
  async nextPending(sessionId: string): Promise<MessageView | undefined> {
    const session = await this.sessions.findById(sessionId);
    if (!session || session.status !== 'active') return undefined;
    const next = await this.messages.nextUnanswered(sessionId);
    return next ? this.toMessageView(next) : undefined;
  }

  pendingCount(sessionId: string): Promise<number> {
    return this.messages.countUnanswered(sessionId);
  }

  async providerConversation(sessionId: string): Promise<string | undefined> {
    return (await this.sessions.findById(sessionId))?.providerConversationId;
  }

  setProviderConversation(sessionId: string, conversationId: string): Promise<void> {
    return this.sessions.setProviderConversation(sessionId, conversationId);
  }

  markAnswered(messageId: string): Promise<void> {
    return this.messages.markAnswered(messageId);
  }

  recordTurn(
    sessionId: string,
    tokens: { prompt: number; completion: number },
    timing: { responseMs: number; turnMs: number },
  ): Promise<void> {
    return this.sessions.recordTurn(sessionId, tokens, timing);
  }

  /** Of these sessions, the active ones with user messages no turn has answered yet. */
  async owingTurns(sessionIds: string[]): Promise<string[]> {
    if (sessionIds.length === 0) return [];
    const owing = await this.messages.sessionsWithUnanswered(sessionIds);
    if (owing.length === 0) return [];
    return (await this.sessions.findActiveByIds(owing)).map((s) => s._id);
  }

  markSeen(sessionIds: string[]): Promise<void> {
    return this.sessions.markSeen(sessionIds, new Date());
  }

  /** Ends sessions no device has kept alive for `windowMs`; safe on every replica at once. */
  async sweep(windowMs: number, now = new Date()): Promise<string[]> {
    const stale = await this.sessions.findUnseenSince(new Date(now.getTime() - windowMs), 500);
    const ended: string[] = [];
    for (const session of stale) {
      if (await this.sessions.end(session, now)) {
        this.activeSessions.dec();
        ended.push(session._id);
      }
    }
    return ended;
  }

  async list(
    principal: Principal,
    limit: number,
    cursor?: SessionCursor,
  ): Promise<{ sessions: SessionView[]; next?: SessionCursor }> {
    const records = await this.sessions.listForUser(principal.userId, limit + 1, cursor);
    const page = records.slice(0, limit);
    const last = page[page.length - 1];
    return {
      sessions: page.map((r) => this.toView(r)),
      next: records.length > limit && last ? { lastActivityAt: last.lastActivityAt, id: last._id } : undefined,
    };
  }

  toView(session: SessionRecord): SessionView {
    const iso = (d?: Date) => (d ? new Date(d).toISOString() : null);
    return {
      id: session._id,
      name: session.name ? this.cipher.decrypt(session.name) : null,
      status: session.status,
      modelId: session.modelId,
      startedAt: new Date(session.startedAt).toISOString(),
      lastActivityAt: new Date(session.lastActivityAt).toISOString(),
      lastMessageAt: iso(session.lastMessageAt),
      endedAt: iso(session.endedAt),
      messageCount: session.messageCount,
      lastSeq: session.lastSeq,
      assisted: session.assisted,
    };
  }

  private toMessageView(record: MessageRecord): MessageView {
    return {
      id: record._id,
      seq: record.seq,
      sessionId: record.sessionId,
      sender: record.sender,
      senderId: record.senderId,
      senderName: record.senderName,
      content: this.cipher.decrypt(record.content),
      files: [],
      createdAt: new Date(record.createdAt).toISOString(),
      status: record.status,
      model: record.model,
      usage: record.usage,
      finishReason: record.finishReason,
    };
  }
}
