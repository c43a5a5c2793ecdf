import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Histogram } from 'prom-client';
import { AuditAction, AuditActor, AuditDetails, adminActor } from '../audit/audit-record';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../auth/principal';
import { AppError } from '../common/errors/app-error';
import { RoomBroadcaster } from '../common/realtime/room-broadcaster';
import { isEmptyMessage } from '../common/validation/not-blank.decorator';
import { AppConfig } from '../config/app-config';
import { withDbRetry } from '../database/db-retry';
import { HELP_PICKUP, RELEASES, TAKEOVERS, TURNS_TAKEN_OVER } from '../metrics/chatbox.metrics';
import { AdminSessionView, SessionView, TranscriptPage } from '../session/session-views';
import { OwnerChange, OwnerChangeCause, SessionOwner, SessionRecord, SessionService } from '../session/session.service';
import { InFlightReply, TurnEngine } from '../turn/turn-engine.service';
import { UploadService } from '../upload/upload.service';

/** Who acts on a session from the admin side, and under which request (for the audit log). */
export interface AdminActor {
  principal: Principal;
  requestId: string;
}

export type ReleaseCause = Exclude<OwnerChangeCause, 'takeover'>;

export interface AdminMessageInput {
  sessionId: string;
  clientMessageId: string;
  content: string;
  fileIds?: string[];
}

export interface WatchResult extends TranscriptPage {
  session: AdminSessionView;
  /** The reply streaming now, if any: render `text`, then only deltas with an index above `index`. */
  inFlight: InFlightReply | null;
}

/** How long a takeover waits for the AI's cut reply to be stored before it goes on regardless. */
const STOP_WAIT_MS = 2000;
/** How many held sessions one release pass looks at. */
const RELEASE_BATCH = 200;
/** How long an administrator's message keeps retrying a database that is momentarily unavailable. */
const SEND_RETRY_MS = 5000;

const RELEASE_TEXT: Record<ReleaseCause, string> = {
  admin_left: 'The human agent left the conversation; the assistant answers again',
  released: 'The conversation was handed back to the assistant',
  admin_gone: 'The human agent was disconnected; the assistant answers again',
  admin_idle: 'The human agent was away; the assistant answers again',
};

const ownerOf = (principal: Principal): SessionOwner => `admin:${principal.userId}`;

/** The administrator holding a session, as `session_taken` and `admin:left` name them. */
const holderOf = (session: SessionRecord): { id: string; name: string | null } => ({
  id: session.hold?.adminId ?? session.owner.slice('admin:'.length),
  name: session.hold?.adminName ?? null,
});

/**
 * Human takeover, from the admin side: an administrator takes a session (fenced: exactly one holds it),
 * the AI stops at once and answers nothing while they hold it, their messages reach the user's devices,
 * and the session goes back to the AI when they leave, are released, or are gone or idle too long.
 */
@Injectable()
export class TakeoverService {
  private readonly logger = new Logger(TakeoverService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly sessions: SessionService,
    private readonly turns: TurnEngine,
    private readonly broadcaster: RoomBroadcaster,
    private readonly audit: AuditService,
    @InjectMetric(HELP_PICKUP) private readonly pickup: Histogram<string>,
    @InjectMetric(TAKEOVERS) private readonly takeovers: Counter<string>,
    @InjectMetric(RELEASES) private readonly releases: Counter<string>,
    @InjectMetric(TURNS_TAKEN_OVER) private readonly turnsTakenOver: Counter<string>,
    private readonly uploads: UploadService,
  ) {}

  /**
   * Makes the administrator the session's owner. Idempotent for the holder (a retry finishes what a failed
   * attempt left undone); `session_taken`, naming the holder, when another administrator holds it.
   */
  async join({ principal, requestId }: AdminActor, sessionId: string): Promise<SessionView> {
    const me = ownerOf(principal);
    let session = await this.sessions.find(sessionId);
    for (let attempt = 0; attempt < 5; attempt++) {
      if (session.status !== 'active') throw new AppError('session_ended', 'This session has ended');
      if (session.owner === me) {
        // Stopped again in case the attempt that took the session failed before it stopped the AI.
        await this.stopAi(sessionId);
        return this.afterJoin(principal, session, session.epoch);
      }
      if (session.owner !== 'ai') {
        const holder = holderOf(session);
        throw new AppError('session_taken', `${holder.name ?? holder.id} already holds this session`, { holder });
      }
      const taken = await this.sessions.changeOwner(session, {
        owner: me,
        ownerName: principal.name,
        cause: 'takeover',
        actor: me,
      });
      if (taken) {
        this.takeovers.inc();
        // The AI stops first: every moment counts while its reply streams.
        if (await this.stopAi(sessionId)) this.turnsTakenOver.inc();
        if (session.helpOpen && session.help) {
          this.pickup.observe((Date.now() - new Date(session.help.requestedAt).getTime()) / 1000);
        }
        await this.record('takeover', principal, sessionId, requestId, { epoch: taken.change.epoch });
        return this.afterJoin(principal, taken.session, taken.change.epoch);
      }
      session = await this.sessions.find(sessionId);
    }
    throw new AppError('busy', 'The session is changing hands; try again');
  }

  /**
   * Stops the AI's running reply and waits for it to be stored, so what follows never writes the session
   * at the same moment (bounded: a reply on a replica that died is settled when its lease expires).
   */
  private async stopAi(sessionId: string): Promise<boolean> {
    if (!(await this.turns.stop(sessionId, 'owner_changed'))) return false;
    await this.turns.settled(sessionId, STOP_WAIT_MS);
    return true;
  }

  /**
   * What follows a takeover at `epoch`, safe to repeat: what the AI owed is the human's, the help request
   * is answered, the transcript says who joined (once), and the user's devices are told.
   */
  private async afterJoin(principal: Principal, session: SessionRecord, epoch: number): Promise<SessionView> {
    const sessionId = session._id;
    await this.sessions.handToHuman(sessionId);
    await this.sessions.closeHelp(sessionId, ownerOf(principal));
    const name = principal.name ?? null;
    const marker = await this.sessions.systemMarker(
      sessionId,
      `s:owner:${epoch}`,
      `${name ?? 'A human agent'} joined the conversation`,
    );
    const view = await this.sessions.view(sessionId);
    if (marker) this.broadcaster.toSessionAndUser(sessionId, session.userId, 'message:new', { ...marker });
    this.broadcaster.toSessionAndUser(sessionId, session.userId, 'admin:joined', {
      sessionId,
      adminId: principal.userId,
      adminName: name,
    });
    this.broadcaster.toSessionAndUser(sessionId, session.userId, 'session:state', { ...view });
    return view;
  }

  /** The holder hands the session back to the AI; idempotent once the AI owns it. */
  async leave(actor: AdminActor, sessionId: string): Promise<SessionView> {
    const session = await this.sessions.find(sessionId);
    if (session.owner === 'ai') return this.releasedAgain(session);
    if (session.owner !== ownerOf(actor.principal)) {
      throw new AppError('forbidden', 'Another administrator holds this session');
    }
    return this.release(session, 'admin_left', actor);
  }

  /** Any administrator hands a held session back to the AI (REST); idempotent once the AI owns it. */
  async forceRelease(actor: AdminActor, sessionId: string): Promise<SessionView> {
    const session = await this.sessions.find(sessionId);
    if (session.owner === 'ai') return this.releasedAgain(session);
    return this.release(session, 'released', actor);
  }

  /**
   * Hands back the sessions whose holder has had no socket for ADMIN_RELEASE_AFTER_MS, or wrote nothing for
   * ADMIN_IDLE_RELEASE_MS. Safe on every replica at once: the owner change lets one of them make it. Each
   * candidate is read again before it is released, so a holder who just wrote keeps the session.
   */
  async releaseAbandoned(): Promise<string[]> {
    const released: string[] = [];
    for (const candidate of await this.sessions.heldSessions(RELEASE_BATCH)) {
      try {
        const session = await this.sessions.find(candidate._id);
        const cause = this.abandonment(session);
        if (!cause) continue;
        await this.release(session, cause);
        released.push(session._id);
      } catch (error) {
        this.logger.warn({ err: error, sessionId: candidate._id }, 'abandoned session not released yet');
      }
    }
    return released;
  }

  private abandonment(session: SessionRecord): ReleaseCause | undefined {
    const { hold } = session;
    if (session.owner === 'ai' || session.status !== 'active' || !hold) return undefined;
    const now = Date.now();
    if (now - new Date(hold.seenAt).getTime() >= this.config.admin.releaseAfterMs) return 'admin_gone';
    if (now - new Date(hold.wroteAt).getTime() >= this.config.admin.idleReleaseMs) return 'admin_idle';
    return undefined;
  }

  private async release(session: SessionRecord, cause: ReleaseCause, actor?: AdminActor): Promise<SessionView> {
    const sessionId = session._id;
    const released = await this.sessions.changeOwner(session, {
      owner: 'ai',
      cause,
      actor: actor ? ownerOf(actor.principal) : 'system',
    });
    // Someone else changed it first (another release, another replica's sweep): they finish it.
    if (!released) return this.sessions.view(sessionId);
    this.releases.inc({ cause });
    await this.record('release', actor?.principal, sessionId, actor?.requestId ?? `release:${released.change._id}`, {
      cause,
      holder: released.change.previousOwner.slice('admin:'.length),
      epoch: released.change.epoch,
    });
    // Messages that reached the session up to the change were the human's: the AI answers what follows.
    return this.afterRelease(released.session, released.change, released.session.lastSeq);
  }

  /** A hand-back asked for again: what its first attempt may have left undone is finished. */
  private async releasedAgain(session: SessionRecord): Promise<SessionView> {
    const change = session.epoch > 0 ? await this.sessions.ownerChange(session._id, session.epoch) : null;
    if (!change || change.owner !== 'ai') return this.sessions.toView(session);
    return this.afterRelease(session, change);
  }

  /**
   * What follows a hand-back, safe to repeat: the messages the human was left (up to `handBackUpToSeq`) stay
   * unanswered by the AI, the transcript says so (once), and the user's devices are told.
   */
  private async afterRelease(session: SessionRecord, change: OwnerChange, handBackUpToSeq?: number) {
    const sessionId = session._id;
    if (handBackUpToSeq !== undefined) await this.sessions.handToHuman(sessionId, handBackUpToSeq);
    const cause = change.cause as ReleaseCause;
    const marker = await this.sessions.systemMarker(sessionId, `s:owner:${change.epoch}`, RELEASE_TEXT[cause]);
    const view = await this.sessions.view(sessionId);
    if (marker) this.broadcaster.toSessionAndUser(sessionId, session.userId, 'message:new', { ...marker });
    this.broadcaster.toSessionAndUser(sessionId, session.userId, 'admin:left', {
      sessionId,
      adminId: change.previousOwner.slice('admin:'.length),
      adminName: change.previousOwnerName ?? null,
      reason: cause,
    });
    this.broadcaster.toSessionAndUser(sessionId, session.userId, 'session:state', { ...view });
    return view;
  }

  /**
   * An administrator's message, in a session they hold: the same checks as a user's (length, blank), stored
   * with sender `admin` and their display name, then sent to every device of the user and everyone watching.
   */
  async message({ principal }: AdminActor, input: AdminMessageInput): Promise<{ messageId: string; seq: number }> {
    if ([...input.content].length > this.config.chat.maxMessageChars) {
      throw new AppError('invalid_payload', `content is longer than ${this.config.chat.maxMessageChars} characters`);
    }
    // Files alone may come without text, as from a user; blank text is never stored.
    if (isEmptyMessage(input.content, input.fileIds)) {
      throw new AppError('invalid_payload', 'content is empty');
    }
    const session = await this.held(principal, input.sessionId);
    const files = input.fileIds?.length ? await this.uploads.attach(principal, input.sessionId, input.fileIds) : [];
    const { message } = await withDbRetry(
      () =>
        this.sessions.appendAdminMessage(session, {
          adminId: principal.userId,
          adminName: principal.name,
          content: input.content,
          clientMessageId: input.clientMessageId,
          files,
        }),
      { deadline: Date.now() + SEND_RETRY_MS },
    );
    this.broadcaster.toSessionAndUser(input.sessionId, session.userId, 'message:new', { ...message });
    await this.sessions
      .adminWrote(input.sessionId, session.owner)
      .catch((error: unknown) =>
        this.logger.warn({ err: error, sessionId: input.sessionId }, 'administrator activity not recorded'),
      );
    return { messageId: message.id, seq: message.seq };
  }

  /** The holder is typing: the user's devices (and other watchers) see it. */
  async typing({ principal }: AdminActor, sessionId: string, isTyping: boolean): Promise<void> {
    await this.held(principal, sessionId);
    this.broadcaster.toSession(sessionId, 'typing', {
      sessionId,
      userId: principal.userId,
      isTyping,
      sender: 'admin',
      name: principal.name ?? null,
    });
  }

  /**
   * Records the watch, lets `enter` join the administrator to the session's room, then reads the session,
   * its newest page and the reply in flight (every frame after what `inFlight` holds arrives as a delta).
   * Nothing is shown, live or stored, that the audit log does not hold.
   */
  async watch(
    { principal, requestId }: AdminActor,
    sessionId: string,
    enter: () => Promise<void>,
  ): Promise<WatchResult> {
    await this.sessions.find(sessionId);
    await this.audit.record({ action: 'watch', actor: adminActor(principal), sessionId, requestId });
    await enter();
    const session = await this.sessions.adminView(sessionId);
    const inFlight = await this.turns.inFlight(sessionId);
    const transcript = await this.sessions.transcript(sessionId);
    return { session, ...transcript, inFlight };
  }

  /** The session, if the principal holds it; `forbidden` otherwise (watching is not holding). */
  private async held(principal: Principal, sessionId: string): Promise<SessionRecord> {
    const session = await this.sessions.find(sessionId);
    if (session.status !== 'active') throw new AppError('session_ended', 'This session has ended');
    if (session.owner !== ownerOf(principal)) {
      throw new AppError('forbidden', 'Take the session over (admin:join) before writing in it');
    }
    return session;
  }

  /**
   * An audit record of what was done. The change itself is already made, and kept in the session's owner
   * history, when this runs: a failure here is logged loudly, never undone.
   */
  private async record(
    action: AuditAction,
    principal: Principal | undefined,
    sessionId: string,
    requestId: string,
    details?: AuditDetails,
  ): Promise<void> {
    const actor: AuditActor = principal ? adminActor(principal) : { kind: 'system', id: 'system' };
    await this.audit
      .record({ action, actor, sessionId, requestId, ...(details ? { details } : {}) })
      .catch((error: unknown) =>
        this.logger.error({ err: error, action, sessionId, requestId }, 'audit record not written'),
      );
  }
}
