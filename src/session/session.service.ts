import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';
import { Principal } from '../auth/principal';
import { AppError } from '../common/errors/app-error';
import { ERRORS } from '../common/errors/error-codes';
import { HELP_REQUESTS, MESSAGES } from '../metrics/chatbox.metrics';
import { ContentCipher } from './content-cipher';
import { MessageRecord, MessageRepository } from './message.repository';
import { helpMarkerKey, HelpMarkerKind, MessageStatus, StoredTranscript } from './schemas/message.schema';
import { OwnerChangeCause } from './schemas/owner-change.schema';
import { AdminHold, AdminSort, HelpSource, SESSION_FIELDS_VERSION, SessionOwner } from './schemas/session.schema';
import { ReplyAnnouncementRepository } from './reply-announcement.repository';
import { OwnerChange, OwnerChangeRepository } from './owner-change.repository';
import { SessionEvents } from './session-events';
import { StopReason, TurnLease } from './schemas/turn-lease.schema';
import {
  AdminListCursor,
  AdminSessionFilter,
  isDuplicateKey,
  SessionCursor,
  SessionRecord,
  SessionRepository,
  TurnStats,
} from './session.repository';
import { sessionNameFrom } from './session-name';
import { SessionNameIndex } from './session-name-index';
import {
  AdminSessionView,
  FileRef,
  isVoiceNote,
  MessageView,
  SessionView,
  Transcript,
  TranscriptPage,
} from './session-views';
import { TurnLeaseRepository } from './turn-lease.repository';

export type {
  AdminListCursor,
  AdminSessionFilter,
  SessionCursor,
  SessionRecord,
  TurnStats,
} from './session.repository';
export type { AdminSort, SessionOwner } from './schemas/session.schema';
export { ADMIN_SORTS } from './schemas/session.schema';
export type { OwnerChangeCause } from './schemas/owner-change.schema';
export type { OwnerChange } from './owner-change.repository';
export type { StopReason, TurnLease } from './schemas/turn-lease.schema';

/** A user message the AI owes an answer, with the attempt its next reply is stored under. */
export type PendingMessage = MessageView & { attempt: number };

export interface NewUserMessage {
  senderId: string;
  senderName?: string;
  content: string;
  clientMessageId: string;
  /** Whether the AI owes it an answer (false while an administrator holds the session). */
  owed: boolean;
  files?: FileRef[];
}

/** An AI reply, stored once per (user message, attempt) whoever tries. */
export interface NewReply {
  id: string;
  turnId: string;
  replyTo: string;
  replyToSeq: number;
  attempt: number;
  content: string;
  status: MessageStatus;
  finishReason: string;
  model?: string;
  usage?: { promptTokens: number; completionTokens: number; estimated: boolean };
  latency?: { firstDeltaMs?: number; totalMs: number };
  /** For a reply that did not end well: what its `ai:error` says. */
  error?: { code: string; message: string };
  /** The turn's figures, added to the session with the reply (once, by the writer that stores it). */
  stats?: TurnStats;
}

export type ReplyOutcome =
  /** This writer stored the answer for its (user message, attempt). */
  | { stored: true; message: MessageView }
  /** Another writer stored the answer first under the same (user message, attempt); this one was refused. */
  | { stored: false; winner: MessageView };

export interface NewAdminMessage {
  adminId: string;
  adminName?: string;
  content: string;
  clientMessageId: string;
  files?: FileRef[];
}

/** A change of owner asked for: to whom, why, and by whom (`admin:<id>`, or `system`). */
export interface OwnerChangeRequest {
  owner: SessionOwner;
  ownerName?: string;
  cause: OwnerChangeCause;
  actor: string;
}

export interface AppendResult {
  message: MessageView;
  /** True when the clientMessageId was seen before: nothing new was stored. */
  duplicate: boolean;
}

const SEQ_ATTEMPTS = 5;

/** The hold a change of owner gives: the administrator's, from the change on; none when the AI takes it back. */
const holdOf = (change: OwnerChange): AdminHold | null =>
  change.owner === 'ai'
    ? null
    : {
        adminId: change.owner.slice('admin:'.length),
        adminName: change.ownerName,
        since: change.at,
        seenAt: change.at,
        wroteAt: change.at,
      };

const isRecoverable = (code: string) => (ERRORS as Record<string, { recoverable: boolean }>)[code]?.recoverable ?? true;
export const PAGE_LIMIT = 200;

/** Conversation lifecycle, the durable record and the turn leases; the facade other modules use. */
@Injectable()
export class SessionService implements OnModuleInit {
  private readonly logger = new Logger(SessionService.name);

  constructor(
    private readonly sessions: SessionRepository,
    private readonly messages: MessageRepository,
    private readonly leases: TurnLeaseRepository,
    private readonly ownerChanges: OwnerChangeRepository,
    private readonly announcements: ReplyAnnouncementRepository,
    private readonly cipher: ContentCipher,
    private readonly nameIndex: SessionNameIndex,
    @InjectMetric(MESSAGES) private readonly messageCounter: Counter<string>,
    @InjectMetric(HELP_REQUESTS) private readonly helpCounter: Counter<string>,
    private readonly events: SessionEvents,
  ) {}

  async onModuleInit(): Promise<void> {
    const dropped = await this.sessions.dropObsoleteIndexes();
    if (dropped.length > 0) this.logger.log({ indexes: dropped }, 'obsolete session indexes dropped');
    await this.sessions.upgradeLegacy();
    await this.addSortFields();
  }

  /**
   * Gives sessions of an earlier version the fields administrators sort and search on, in batches read once in
   * `_id` order (past any number a later version marked). A session that changed while it was computed is
   * left for the next boot.
   */
  private async addSortFields(): Promise<void> {
    let upgraded = 0;
    let after: string | undefined;
    do {
      const batch = await this.sessions.findWithoutSortFields(500, after);
      for (const session of batch.sessions) {
        const name = session.name ? this.readable(session.name) : null;
        if (await this.sessions.setSortFields(session, name === null ? [] : this.nameIndex.entries(name))) upgraded++;
      }
      after = batch.next;
    } while (after !== undefined);
    if (upgraded > 0) this.logger.log({ sessions: upgraded }, 'sessions given their sort and search fields');
  }

  /** A new active session; the user's previous active session (from any device) is ended and returned. */
  async start(principal: Principal, modelId: string): Promise<{ session: SessionView; ended?: SessionView }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const previous = await this.sessions.findActiveForUser(principal.userId);
      const now = new Date();
      if (previous) await this.sessions.end(previous, now);
      const record = this.newSession(principal, modelId, now);
      try {
        await this.sessions.create(record);
        if (previous) this.events.changed(previous._id);
        this.events.changed(record._id);
        return { session: this.toView(record), ended: previous ? await this.view(previous._id) : undefined };
      } catch (error) {
        // Another device started one at the same moment: end that one too and try again.
        if (!isDuplicateKey(error)) throw error;
      }
    }
    throw new AppError('busy', 'Sessions are being started concurrently; try again');
  }

  /** The principal's active session, or a new one: unlike `start`, never ends the one it finds. */
  async activeOrStart(principal: Principal, modelId: string): Promise<{ session: SessionView; started: boolean }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const active = await this.sessions.findActiveForUser(principal.userId);
      if (active) return { session: this.toView(active), started: false };
      const record = this.newSession(principal, modelId);
      try {
        await this.sessions.create(record);
        this.events.changed(record._id);
        return { session: this.toView(record), started: true };
      } catch (error) {
        // Another device started one at the same moment: that one is the active session.
        if (!isDuplicateKey(error)) throw error;
      }
    }
    throw new AppError('busy', 'Sessions are being started concurrently; try again');
  }

  private newSession(principal: Principal, modelId: string, now = new Date()): SessionRecord {
    return {
      _id: randomUUID(),
      userId: principal.userId,
      userName: principal.name,
      status: 'active',
      activeKey: principal.userId,
      modelId,
      owner: 'ai',
      epoch: 0,
      startedAt: now,
      lastActivityAt: now,
      lastSeenAt: now,
      messageCount: 0,
      lastSeq: 0,
      durationMs: 0,
      tokens: { prompt: 0, completion: 0 },
      totalTokens: 0,
      nameIndex: [],
      fieldsVersion: SESSION_FIELDS_VERSION,
      responseTime: { count: 0, sumMs: 0, maxMs: 0 },
      turnTime: { count: 0, sumMs: 0, maxMs: 0 },
      assisted: false,
      rev: 0,
      helpOpen: false,
      helpRequests: 0,
      hold: null,
      aiHelpAsked: false,
    };
  }

  /** The session if the principal owns it; 404 otherwise, so ids of others reveal nothing. */
  async getOwned(principal: Principal, sessionId: string): Promise<SessionRecord> {
    const session = await this.load(sessionId);
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
    return (await this.endRecord(await this.getOwned(principal, sessionId))).session;
  }

  /** Ends the session whoever owns it (an administrator's action); `ended`: this call ended it. */
  async endAny(sessionId: string): Promise<{ session: SessionView; ended: boolean }> {
    return this.endRecord(await this.find(sessionId));
  }

  private async endRecord(record: SessionRecord): Promise<{ session: SessionView; ended: boolean }> {
    const ended = await this.sessions.end(record, new Date());
    if (ended) this.events.changed(record._id);
    return { session: await this.view(record._id), ended };
  }

  /**
   * Opens a help request on an active session, with a `system` marker in the transcript. Idempotent: while
   * one is open, another opens nothing (`opened` false) and the open one's marker is stored if it is missing.
   */
  async requestHelp(
    sessionId: string,
    request: { source: HelpSource; requestedBy: string; reason?: string },
  ): Promise<{ session: SessionView; opened: boolean; marker?: MessageView }> {
    const reason = request.reason ? this.cipher.encrypt(request.reason) : undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const opened = await this.sessions.openHelp(sessionId, { ...request, reason, requestedAt: new Date() });
      const session = opened ?? (await this.find(sessionId));
      // Neither opened nor open: ended, or closed between the two writes (then it is opened anew).
      if (!session.helpOpen && session.status !== 'active')
        throw new AppError('session_ended', 'This session has ended');
      if (!session.helpOpen) continue;
      if (opened) {
        this.helpCounter.inc({ source: request.source });
        this.events.changed(sessionId);
        this.events.emit({
          type: 'help.requested',
          sessionId,
          userId: opened.userId,
          source: request.source,
          requestedAt: opened.help?.requestedAt ?? new Date(),
        });
      }
      const marker = await this.helpMarker(session, 'help', this.helpRequestedText(session));
      return { session: this.toView(session), opened: opened !== null, marker };
    }
    throw new AppError('busy', 'The help request is changing concurrently; try again');
  }

  /** Closes the open help request, with a marker; idempotent when none is open. */
  async cancelHelp(sessionId: string, closedBy: string): Promise<{ session: SessionView; marker?: MessageView }> {
    const session = (await this.closeHelp(sessionId, closedBy)) ?? (await this.find(sessionId));
    // Also when none was open: a retry stores the marker of a withdrawal whose marker write failed.
    const marker =
      session.help?.closedBy === closedBy
        ? await this.helpMarker(session, 'help-cancel', 'The request for a human was withdrawn')
        : undefined;
    return { session: this.toView(session), marker };
  }

  /** Closes the open help request, without a marker (a takeover says so itself): the session after, or null. */
  async closeHelp(sessionId: string, closedBy: string): Promise<SessionRecord | null> {
    const closed = await this.sessions.closeHelp(sessionId, closedBy, new Date());
    if (closed) this.events.changed(sessionId);
    return closed;
  }

  /**
   * The marker of the session's current help request, stored once under a key numbered by that request: a
   * retry after a marker write failed stores it then, and one that finds it stored returns none.
   */
  private helpMarker(session: SessionRecord, kind: HelpMarkerKind, content: string): Promise<MessageView | undefined> {
    return this.systemMarker(session._id, helpMarkerKey(kind, session.helpRequests), content);
  }

  /**
   * A `system` line in the transcript, stored once under its key: a retry after a failed write stores it
   * then, and one that finds it stored returns none.
   */
  async systemMarker(sessionId: string, clientKey: string, content: string): Promise<MessageView | undefined> {
    if (await this.messages.findByClientKey(sessionId, clientKey)) return undefined;
    const { record, duplicate } = await this.insertWithSeq(sessionId, clientKey, { device: false }, (seq, now) => ({
      _id: randomUUID(),
      sessionId,
      seq,
      clientKey,
      sender: 'system',
      content: this.cipher.encrypt(content),
      status: 'complete',
      createdAt: now,
    }));
    if (duplicate) return undefined;
    this.messageCounter.inc({ sender: 'system' });
    return this.toMessageView(record);
  }

  async find(sessionId: string): Promise<SessionRecord> {
    const session = await this.load(sessionId);
    if (!session) throw new AppError('not_found', 'Session not found');
    return session;
  }

  async view(sessionId: string): Promise<SessionView> {
    return this.toView(await this.find(sessionId));
  }

  /**
   * One page of the transcript in seq order: after `afterSeq` (oldest first), else before `beforeSeq`
   * (the newest page when neither is given). `hasMore` says whether the next page that way has anything.
   */
  async transcript(
    sessionId: string,
    page: { afterSeq?: number; beforeSeq?: number; limit?: number } = {},
  ): Promise<TranscriptPage> {
    const limit = Math.min(page.limit ?? PAGE_LIMIT, PAGE_LIMIT);
    const records =
      page.afterSeq !== undefined
        ? await this.messages.listAfter(sessionId, page.afterSeq, limit + 1)
        : (await this.messages.listBefore(sessionId, page.beforeSeq, limit + 1)).reverse();
    const hasMore = records.length > limit;
    // Read backwards, the page is the newest `limit` of what came (all of it when fewer came).
    const kept =
      page.afterSeq !== undefined ? records.slice(0, limit) : records.slice(Math.max(0, records.length - limit));
    return { messages: kept.map((r) => this.toMessageView(r)), hasMore: hasMore && kept.length > 0 };
  }

  /** Newest first, before `beforeSeq` (from the newest when absent): how prompts read history, a page at a time. */
  async newestMessages(sessionId: string, beforeSeq: number | undefined, limit: number): Promise<MessageView[]> {
    return (await this.messages.listBefore(sessionId, beforeSeq, limit)).map((r) => this.toMessageView(r));
  }

  /** Persists first, with the next seq; a resend with a known clientMessageId returns the stored copy. */
  async appendUserMessage(session: SessionRecord, input: NewUserMessage): Promise<AppendResult> {
    // A resend is found by the unique client key when its insert collides: no read before every send.
    const clientKey = `c:${input.clientMessageId}`;
    const id = randomUUID();
    const content = this.cipher.encrypt(input.content);
    const { record, duplicate } = await this.insertWithSeq(session._id, clientKey, { device: true }, (seq, now) => ({
      _id: id,
      sessionId: session._id,
      seq,
      clientKey,
      sender: 'user',
      senderId: input.senderId,
      senderName: input.senderName,
      content,
      ...(input.files?.length ? { files: input.files } : {}),
      status: 'complete',
      createdAt: now,
      answered: !input.owed,
      attempt: 0,
    }));
    if (!duplicate) {
      this.messageCounter.inc({ sender: 'user' });
      // Waited for: a write to the session racing the next one would lose an update on a server whose
      // updates are read-then-write (FerretDB), and it costs a round trip on the first message only.
      // A failure only leaves the name to the next message: the message is stored and must still go out.
      // Files alone name nothing: the first message with text names the session.
      if (!session.name && input.content !== '') {
        const name = sessionNameFrom(input.content);
        await this.sessions
          .setNameIfUnset(session._id, this.cipher.encrypt(name), this.nameIndex.entries(name))
          .catch((error: unknown) =>
            this.logger.warn({ err: error, sessionId: session._id }, 'session not named: the next message names it'),
          );
      }
    }
    return { message: this.toMessageView(record), duplicate };
  }

  /** Persists an administrator's message with the next seq; idempotent on its clientMessageId. */
  async appendAdminMessage(session: SessionRecord, input: NewAdminMessage): Promise<AppendResult> {
    const clientKey = `a:${input.adminId}:${input.clientMessageId}`;
    const content = this.cipher.encrypt(input.content);
    const { record, duplicate } = await this.insertWithSeq(session._id, clientKey, { device: true }, (seq, now) => ({
      _id: randomUUID(),
      sessionId: session._id,
      seq,
      clientKey,
      sender: 'admin',
      senderId: input.adminId,
      senderName: input.adminName,
      content,
      ...(input.files?.length ? { files: input.files } : {}),
      status: 'complete',
      createdAt: now,
    }));
    if (!duplicate) this.messageCounter.inc({ sender: 'admin' });
    return { message: this.toMessageView(record), duplicate };
  }

  /**
   * Stores an AI reply unless another writer stored one to the same user message and attempt first (a
   * turn whose lease was taken over, a re-run after a crash): the unique key decides, on any server, and
   * the writer's turn id tells a retried write of one's own from someone else's. Replies are stored even
   * after the session ended, since they were under way.
   */
  async storeReply(sessionId: string, reply: NewReply): Promise<ReplyOutcome> {
    const clientKey = `r:${reply.replyTo}:${reply.attempt}`;
    const { record, duplicate } = await this.insertWithSeq(
      sessionId,
      clientKey,
      { device: false, stats: reply.stats },
      (seq, now) => ({
        _id: reply.id,
        sessionId,
        seq,
        clientKey,
        sender: 'ai',
        content: this.cipher.encrypt(reply.content),
        status: reply.status,
        model: reply.model,
        finishReason: reply.finishReason,
        usage: reply.usage,
        latency: reply.latency,
        createdAt: now,
        replyTo: reply.replyTo,
        replyToSeq: reply.replyToSeq,
        turnId: reply.turnId,
        error: reply.error,
      }),
    );
    const message = this.toMessageView(record);
    if (duplicate && record.turnId !== reply.turnId) return { stored: false, winner: message };
    if (!duplicate) this.messageCounter.inc({ sender: 'ai' });
    return { stored: true, message };
  }

  async selectModel(principal: Principal, sessionId: string, modelId: string): Promise<SessionView> {
    await this.getActiveOwned(principal, sessionId);
    if (!(await this.sessions.setModel(sessionId, modelId))) {
      throw new AppError('session_ended', 'This session has ended');
    }
    return this.view(sessionId);
  }

  /**
   * Stores a voice note's transcript with its message, unless one was stored first (by another turn): the
   * message as stored after, and whether this call stored it.
   */
  async storeTranscript(
    sessionId: string,
    messageId: string,
    fileId: string,
    transcript: Transcript,
  ): Promise<{ message: MessageView; stored: boolean }> {
    const atRest =
      transcript.status === 'done'
        ? { status: transcript.status, text: this.cipher.encrypt(transcript.text) }
        : transcript;
    const updated = await this.messages.setTranscriptOnce(sessionId, messageId, fileId, atRest);
    if (updated) return { message: this.toMessageView(updated), stored: true };
    const existing = await this.messages.findById(sessionId, messageId);
    if (!existing) throw new AppError('not_found', 'Message not found');
    return { message: this.toMessageView(existing), stored: false };
  }

  /** The oldest user message the AI still owes an answer. */
  async nextPending(sessionId: string): Promise<PendingMessage | undefined> {
    const next = await this.messages.nextUnanswered(sessionId);
    return next ? { ...this.toMessageView(next), attempt: next.attempt ?? 0 } : undefined;
  }

  pendingCount(sessionId: string): Promise<number> {
    return this.messages.countUnanswered(sessionId);
  }

  setProviderConversation(sessionId: string, conversationId: string): Promise<void> {
    return this.sessions.setProviderConversation(sessionId, conversationId);
  }

  /**
   * Records that `replyId` answers the user message — or, with `reopenAttempt`, that the message is owed
   * another answer under that attempt — then claims the reply's announcement for the caller's turn: true
   * only for the one turn that claimed it, which sends the reply's terminal event. Recorded first, so a
   * claimer that stops before sending leaves nothing half-done but the event, which is lost with it. Nothing
   * is claimed for a message that is gone (its session was erased meanwhile).
   */
  async answer(
    sessionId: string,
    userMessageId: string,
    replyId: string,
    turnId: string,
    reopenAttempt?: number,
  ): Promise<boolean> {
    if (!(await this.messages.recordAnswer(userMessageId, reopenAttempt))) return false;
    return this.announcements.claim(sessionId, replyId, turnId);
  }

  /**
   * Hands the session, as read at `from`, to a new owner, fenced: of everyone changing it from that epoch
   * exactly one wins (the session after), the others get null and should read it again. The change is
   * recorded first (a unique insert), then written to the session, checked, and written again if a
   * concurrent write on a read-then-write server put the old owner back.
   */
  async changeOwner(
    from: SessionRecord,
    to: OwnerChangeRequest,
  ): Promise<{ session: SessionRecord; change: OwnerChange } | null> {
    const epoch = (from.epoch ?? 0) + 1;
    const change: OwnerChange = {
      _id: `${from._id}:${epoch}`,
      sessionId: from._id,
      epoch,
      owner: to.owner,
      previousOwner: from.owner ?? 'ai',
      previousOwnerName: from.hold?.adminName,
      ownerName: to.ownerName,
      cause: to.cause,
      actor: to.actor,
      at: new Date(),
      // A takeover answers the open help request: its wait is kept with the change, for the usage figures.
      ...(to.cause === 'takeover' && from.helpOpen && from.help
        ? { helpRequestedAt: new Date(from.help.requestedAt) }
        : {}),
    };
    // Someone changed it first: every read from now on sees their change (see `load`).
    if (!(await this.ownerChanges.insert(change))) return null;
    await this.sessions.applyOwnerChange(change, holdOf(change));
    this.events.changed(from._id);
    this.events.emit({
      type: 'owner.changed',
      sessionId: from._id,
      userId: from.userId,
      owner: change.owner,
      previousOwner: change.previousOwner,
      cause: change.cause,
      epoch: change.epoch,
    });
    return { session: await this.find(from._id), change };
  }

  /**
   * The session as stored, with every change of owner recorded after its epoch applied: the record of a
   * change is the truth, the session's `owner` and `epoch` a copy of it that a writer may not have written
   * yet (it stopped first) or that a concurrent write undid (on a server whose updates read, then write
   * back the whole document). Such a copy is written again for the readers of the stored fields.
   */
  private async load(sessionId: string): Promise<SessionRecord | null> {
    let session = await this.sessions.findById(sessionId);
    while (session) {
      const next = await this.ownerChanges.find(session._id, (session.epoch ?? 0) + 1);
      if (!next) return session;
      const hold = holdOf(next);
      await this.sessions.applyOwnerChange(next, hold);
      session = { ...session, owner: next.owner, epoch: next.epoch, hold, assisted: session.assisted || hold !== null };
    }
    return null;
  }

  /** Every message the AI still owes (up to `upToSeq`) is left to the human who holds, or held, the session. */
  handToHuman(sessionId: string, upToSeq?: number): Promise<void> {
    return this.messages.handToHuman(sessionId, upToSeq);
  }

  /** The recorded change that brought the session to `epoch`, if any. */
  ownerChange(sessionId: string, epoch: number): Promise<OwnerChange | null> {
    return this.ownerChanges.find(sessionId, epoch);
  }

  heldSessions(limit: number): Promise<SessionRecord[]> {
    return this.sessions.findHeld(limit);
  }

  touchHolds(adminIds: string[]): Promise<void> {
    return this.sessions.touchHolds(adminIds, new Date());
  }

  adminWrote(sessionId: string, owner: SessionOwner): Promise<void> {
    return this.sessions.adminWrote(sessionId, owner, new Date());
  }

  /** Whether the AI may ask for a human on this session now; true once, until an administrator answers. */
  claimAiHelpRequest(sessionId: string): Promise<boolean> {
    return this.sessions.markAiHelpAsked(sessionId);
  }

  /** Takes the session's turn lease if nobody holds it: true only for the one insert that made it. */
  claimTurn(sessionId: string, lease: TurnLease): Promise<boolean> {
    return this.leases.claim(sessionId, lease);
  }

  takeExpiredTurn(sessionId: string, expiredTurnId: string, lease: TurnLease): Promise<boolean> {
    return this.leases.takeExpired(sessionId, expiredTurnId, new Date(), lease);
  }

  /** Extends a lease still held, with the session as it is now; null once the lease was lost. */
  async renewTurn(
    sessionId: string,
    turnId: string,
    expiresAt: Date,
  ): Promise<{ lease: TurnLease; session: SessionRecord | null } | null> {
    const lease = await this.leases.renew(sessionId, turnId, expiresAt);
    return lease && { lease, session: await this.load(sessionId) };
  }

  releaseTurn(sessionId: string, turnId: string): Promise<boolean> {
    return this.leases.release(sessionId, turnId);
  }

  flagStop(sessionId: string, reason: StopReason, messageId?: string): Promise<TurnLease | null> {
    return this.leases.flagStop(sessionId, reason, messageId);
  }

  turnLease(sessionId: string): Promise<TurnLease | null> {
    return this.leases.find(sessionId);
  }

  expiredTurns(limit: number): Promise<{ sessionId: string; lease: TurnLease }[]> {
    return this.leases.findExpired(new Date(), limit);
  }

  /** Of these sessions, the active ones with user messages the AI still owes and no turn running. */
  async owingTurns(sessionIds: string[]): Promise<string[]> {
    if (sessionIds.length === 0) return [];
    const owing = await this.messages.sessionsWithUnanswered(sessionIds);
    if (owing.length === 0) return [];
    const held = await this.leases.heldFor(owing);
    return (await this.sessions.findActiveByIds(owing)).map((s) => s._id).filter((id) => !held.has(id));
  }

  markSeen(sessionIds: string[]): Promise<void> {
    return this.sessions.markSeen(sessionIds, new Date());
  }

  /**
   * Ends sessions no device has kept alive for `windowMs`. Safe on every replica at once, and a
   * session some replica marks seen after the decision is not ended.
   */
  async sweep(windowMs: number, now = new Date()): Promise<string[]> {
    const cutoff = new Date(now.getTime() - windowMs);
    const stale = await this.sessions.findUnseenSince(cutoff, 500);
    const ended: string[] = [];
    for (const session of stale) {
      if (await this.sessions.end(session, now, cutoff)) {
        ended.push(session._id);
        this.events.changed(session._id);
      }
    }
    return ended;
  }

  countActive(): Promise<number> {
    return this.sessions.countActive();
  }

  async list(
    principal: Principal,
    limit: number,
    cursor?: SessionCursor,
  ): Promise<{ sessions: SessionView[]; next?: SessionCursor }> {
    return this.pageOfUser(principal.userId, limit, cursor, (r) => this.toView(r));
  }

  /** Any user's sessions as the admin queue shows them, the most recently active first. */
  async listOfUser(
    userId: string,
    limit: number,
    cursor?: SessionCursor,
  ): Promise<{ sessions: AdminSessionView[]; next?: SessionCursor }> {
    return this.pageOfUser(userId, limit, cursor, (r) => this.toAdminView(r));
  }

  private async pageOfUser<V>(
    userId: string,
    limit: number,
    cursor: SessionCursor | undefined,
    view: (record: SessionRecord) => V,
  ): Promise<{ sessions: V[]; next?: SessionCursor }> {
    const records = await this.sessions.listForUser(userId, limit + 1, cursor);
    const page = records.slice(0, limit);
    const last = page[page.length - 1];
    return {
      sessions: page.map(view),
      next: records.length > limit && last ? { lastActivityAt: last.lastActivityAt, id: last._id } : undefined,
    };
  }

  /**
   * One page of every session, filtered and sorted as an administrator asked; `total` counts every match
   * (all pages) when asked for, since counting costs a pass over the matches.
   */
  async adminList(
    where: AdminSessionFilter & { namePrefix?: string },
    order: { sort: AdminSort; order: 'asc' | 'desc' },
    limit: number,
    after?: AdminListCursor,
    withTotal = false,
  ): Promise<{ sessions: AdminSessionView[]; next?: AdminListCursor; total?: number }> {
    const { namePrefix, ...filter } = where;
    const query = namePrefix === undefined ? filter : { ...filter, nameLookups: this.nameIndex.lookups(namePrefix) };
    const [records, total] = await Promise.all([
      this.sessions.findForAdmin(query, order.sort, order.order, limit + 1, after),
      withTotal ? this.sessions.countForAdmin(query) : undefined,
    ]);
    const page = records.slice(0, limit);
    const last = page[page.length - 1];
    return {
      sessions: page.map((r) => this.toAdminView(r)),
      next: records.length > limit && last ? { value: last[order.sort], id: last._id } : undefined,
      total,
    };
  }

  /** The admin queue: active sessions, those asking for help first; `truncated` when more exist. */
  async adminQueue(limit: number): Promise<{ sessions: AdminSessionView[]; truncated: boolean }> {
    const records = await this.sessions.findActive(limit + 1);
    return { sessions: records.slice(0, limit).map((r) => this.toAdminView(r)), truncated: records.length > limit };
  }

  /** The ids of active sessions with a help request open, as stored (at most `limit`; read each to be sure). */
  async openHelpSessionIds(limit: number): Promise<string[]> {
    return (await this.sessions.findOpenHelp(limit)).map((r) => r._id);
  }

  async adminView(sessionId: string): Promise<AdminSessionView> {
    return this.toAdminView(await this.find(sessionId));
  }

  private toAdminView(session: SessionRecord): AdminSessionView {
    const view = this.toView(session);
    return {
      id: view.id,
      userId: session.userId,
      userName: session.userName ?? null,
      name: view.name,
      status: view.status,
      owner: view.owner,
      epoch: view.epoch,
      rev: session.rev ?? 0,
      modelId: view.modelId,
      startedAt: view.startedAt,
      lastActivityAt: view.lastActivityAt,
      endedAt: view.endedAt,
      durationMs: session.durationMs ?? 0,
      messageCount: view.messageCount,
      totalTokens: session.totalTokens ?? 0,
      assisted: view.assisted,
      helpRequests: session.helpRequests ?? 0,
      holder: view.holder,
      help: view.help,
    };
  }

  toView(session: SessionRecord): SessionView {
    const iso = (d?: Date) => (d ? new Date(d).toISOString() : null);
    return {
      id: session._id,
      name: session.name ? this.readable(session.name) : null,
      status: session.status,
      modelId: session.modelId,
      owner: session.owner ?? 'ai',
      epoch: session.epoch ?? 0,
      startedAt: new Date(session.startedAt).toISOString(),
      lastActivityAt: new Date(session.lastActivityAt).toISOString(),
      lastMessageAt: iso(session.lastMessageAt),
      endedAt: iso(session.endedAt),
      messageCount: session.messageCount,
      lastSeq: session.lastSeq,
      assisted: session.assisted,
      holder: session.hold ? { id: session.hold.adminId, name: session.hold.adminName ?? null } : null,
      help:
        session.helpOpen && session.help && session.status === 'active'
          ? {
              requestedAt: new Date(session.help.requestedAt).toISOString(),
              source: session.help.source,
              reason: session.help.reason ? this.readable(session.help.reason) : null,
            }
          : null,
    };
  }

  /**
   * Inserts under the next seq. The unique (sessionId, seq) index is the final guard on ordering:
   * MongoDB's $inc is atomic, so a collision cannot happen there; FerretDB's is not, so a collided
   * write takes the next seq. A collision on the client key means the message is already stored.
   */
  private async insertWithSeq(
    sessionId: string,
    clientKey: string,
    /**
     * A message from a device needs an active session and marks it seen; one under way before the session
     * ended (an AI reply, a marker) is stored after it ended too, and a reply adds its turn's figures.
     */
    from: { device: true } | { device: false; stats?: TurnStats },
    build: (seq: number, now: Date) => MessageRecord,
  ): Promise<{ record: MessageRecord; duplicate: boolean }> {
    const stats = from.device ? undefined : from.stats;
    for (let attempt = 0; attempt < SEQ_ATTEMPTS; attempt++) {
      const now = new Date();
      const seq = await this.sessions.allocateSeq(sessionId, now, !from.device, stats);
      if (seq === undefined) throw new AppError('session_ended', 'This session has ended');
      const candidate = build(seq, now);
      try {
        await this.messages.insert(candidate);
        return { record: candidate, duplicate: false };
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        await this.sessions.uncount(sessionId, stats);
        const existing = await this.messages.findByClientKey(sessionId, clientKey);
        if (existing) return { record: existing, duplicate: true };
      }
    }
    throw new AppError('busy', 'The session is too busy to take the message; try again');
  }

  /** The marker's text, from the request as stored (not as a caller that found one open asked). */
  private helpRequestedText(session: SessionRecord): string {
    const who = session.help?.source === 'ai' ? 'The assistant asked for a human' : 'The user asked for a human';
    const reason = session.help?.reason ? this.readable(session.help.reason) : null;
    return reason ? `${who}: ${reason}` : who;
  }

  /** Decrypted content, or null when the value cannot be read (a key rotated away, a damaged value). */
  private readable(stored: string): string | null {
    try {
      return this.cipher.decrypt(stored);
    } catch {
      return null;
    }
  }

  /** A voice note with its transcript when one is stored (left out when its text cannot be decrypted). */
  private toFileRef(file: FileRef, stored: StoredTranscript | undefined): FileRef {
    if (!stored || !isVoiceNote(file)) return file;
    if (stored.status !== 'done') return { ...file, transcript: { status: stored.status } };
    const text = this.readable(stored.text);
    return text === null ? file : { ...file, transcript: { status: 'done', text } };
  }

  private toMessageView(record: MessageRecord): MessageView {
    const content = this.readable(record.content);
    return {
      id: record._id,
      seq: record.seq,
      sessionId: record.sessionId,
      sender: record.sender,
      senderId: record.senderId,
      senderName: record.senderName,
      content: content ?? '',
      files: (record.files ?? []).map((file) => this.toFileRef(file, record.transcripts?.[file.id])),
      createdAt: new Date(record.createdAt).toISOString(),
      status: content === null ? 'unreadable' : record.status,
      ...(record.replyTo ? { replyTo: record.replyTo, replyToSeq: record.replyToSeq } : {}),
      model: record.model,
      usage: record.usage,
      finishReason: record.finishReason,
      ...(record.error ? { error: { ...record.error, recoverable: isRecoverable(record.error.code) } } : {}),
    };
  }
}
