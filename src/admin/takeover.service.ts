import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Histogram } from 'prom-client';
import { AuditAction, AuditActor, AuditDetails } from '../audit/audit-record';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../auth/principal';
import { AppError } from '../common/errors/app-error';
import { RoomBroadcaster } from '../common/realtime/room-broadcaster';
import { isBlankText } from '../common/validation/not-blank.decorator';
import { AppConfig } from '../config/app-config';
import { withDbRetry } from '../database/db-retry';
import { HELP_PICKUP, RELEASES, TAKEOVERS, TURNS_TAKEN_OVER } from '../metrics/chatbox.metrics';
import { AdminSessionView, SessionView, TranscriptPage } from '../session/session-views';
import { OwnerChangeCause, SessionOwner, SessionRecord, SessionService } from '../session/session.service';
import { InFlightReply, TurnEngine } from '../turn/turn-engine.service';

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

const actorOf = (principal: Principal): AuditActor => ({
  kind: 'admin',
  id: principal.userId,
  ...(principal.name ? { name: principal.name } : {}),
});

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
      if (session.owner === me) return this.afterJoin(principal, session);
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
        // The AI stops first: every moment counts while its reply streams. What follows waits for its cut
        // reply to be stored, so the two never write the session at once.
        if (await this.turns.stop(sessionId, 'owner_changed')) {
          this.turnsTakenOver.inc();
          await this.turns.settled(sessionId, STOP_WAIT_MS);
        }
        if (session.helpOpen && session.help) {
          this.pickup.observe((Date.now() - new Date(session.help.requestedAt).getTime()) / 1000);
        }
        await this.record('takeover', principal, sessionId, requestId, { epoch: taken.epoch });
        return this.afterJoin(principal, taken);
      }
      session = await this.sessions.find(sessionId);
    }
    throw new AppError('busy', 'The session is changing hands; try again');
  }

  /**
   * What follows a takeover, safe to repeat: what the AI owed is the human's, the help request is answered,
   * the transcript says who joined, and the user's devices are told.
   */
  private async afterJoin(principal: Principal, session: SessionRecord): Promise<SessionView> {
    const sessionId = session._id;
    await this.sessions.handToHuman(sessionId);
    await this.sessions.closeHelp(sessionId, ownerOf(principal));
    const name = principal.name ?? null;
    const marker = await this.sessions.systemMarker(
      sessionId,
      `s:owner:${session.epoch}`,
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
    if (session.owner === 'ai') return this.sessions.toView(session);
    if (session.owner !== ownerOf(actor.principal)) {
      throw new AppError('forbidden', 'Another administrator holds this session');
    }
    return this.release(session, 'admin_left', actor);
  }

  /** Any administrator hands a held session back to the AI (REST); idempotent once the AI owns it. */
  async forceRelease(actor: AdminActor, sessionId: string): Promise<SessionView> {
    const session = await this.sessions.find(sessionId);
    if (session.owner === 'ai') return this.sessions.toView(session);
    return this.release(session, 'released', actor);
  }

  /**
   * Hands back the sessions whose holder has had no socket for ADMIN_RELEASE_AFTER_MS, or wrote nothing for
   * ADMIN_IDLE_RELEASE_MS. Safe on every replica at once: the owner change lets one of them make it.
   */
  async releaseAbandoned(now = Date.now()): Promise<string[]> {
    const { releaseAfterMs, idleReleaseMs } = this.config.admin;
    const released: string[] = [];
    for (const session of await this.sessions.heldSessions(RELEASE_BATCH)) {
      const hold = session.hold;
      if (!hold) continue;
      const cause: ReleaseCause | undefined =
        now - new Date(hold.seenAt).getTime() >= releaseAfterMs
          ? 'admin_gone'
          : now - new Date(hold.wroteAt).getTime() >= idleReleaseMs
            ? 'admin_idle'
            : undefined;
      if (!cause) continue;
      try {
        await this.release(session, cause);
        released.push(session._id);
      } catch (error) {
        this.logger.warn({ err: error, sessionId: session._id, cause }, 'abandoned session not released yet');
      }
    }
    return released;
  }

  private async release(session: SessionRecord, cause: ReleaseCause, actor?: AdminActor): Promise<SessionView> {
    const sessionId = session._id;
    const holder = holderOf(session);
    const released = await this.sessions.changeOwner(session, {
      owner: 'ai',
      cause,
      actor: actor ? ownerOf(actor.principal) : 'system',
    });
    // Someone else changed it first (another release, another replica's sweep): theirs is what happened.
    if (!released) return this.sessions.view(sessionId);
    this.releases.inc({ cause });
    await this.record('release', actor?.principal, sessionId, actor?.requestId ?? `release:${sessionId}`, {
      cause,
      holder: holder.id,
      epoch: released.epoch,
    });
    // Messages that reached the session while it changed hands were the human's too: the AI answers what follows.
    await this.sessions.handToHuman(sessionId);
    const marker = await this.sessions.systemMarker(sessionId, `s:owner:${released.epoch}`, RELEASE_TEXT[cause]);
    const view = this.sessions.toView(released);
    if (marker) this.broadcaster.toSessionAndUser(sessionId, session.userId, 'message:new', { ...marker });
    this.broadcaster.toSessionAndUser(sessionId, session.userId, 'admin:left', {
      sessionId,
      adminId: holder.id,
      adminName: holder.name,
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
    if (isBlankText(input.content)) throw new AppError('invalid_payload', 'content is empty');
    const session = await this.held(principal, input.sessionId);
    const { message } = await withDbRetry(
      () =>
        this.sessions.appendAdminMessage(session, {
          adminId: principal.userId,
          adminName: principal.name,
          content: input.content,
          clientMessageId: input.clientMessageId,
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
   * The session, its newest page and the reply in flight, for an administrator who joined its room (so every
   * frame after what `inFlight` holds arrives as a delta). Recorded in the audit log: it shows a transcript.
   */
  async watch({ principal, requestId }: AdminActor, sessionId: string): Promise<WatchResult> {
    const session = await this.sessions.adminView(sessionId);
    const inFlight = await this.turns.inFlight(sessionId);
    const transcript = await this.sessions.transcript(sessionId);
    // Required, unlike the records of changes already made: nothing is shown that the log does not hold.
    await this.audit.record({ action: 'watch', actor: actorOf(principal), sessionId, requestId });
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
    const actor: AuditActor = principal ? actorOf(principal) : { kind: 'system', id: 'system' };
    await this.audit
      .record({ action, actor, sessionId, requestId, ...(details ? { details } : {}) })
      .catch((error: unknown) =>
        this.logger.error({ err: error, action, sessionId, requestId }, 'audit record not written'),
      );
  }
}
