import { Injectable, Logger } from '@nestjs/common';
import { AuditAction, AuditDetails, adminActor } from '../audit/audit-record';
import { AuditService } from '../audit/audit.service';
import { AppError } from '../common/errors/app-error';
import { RoomBroadcaster } from '../common/realtime/room-broadcaster';
import { parseRange } from '../common/validation/date-time';
import { AdminSessionView, SessionView, TranscriptPage } from '../session/session-views';
import { SessionService } from '../session/session.service';
import { TurnEngine } from '../turn/turn-engine.service';
import { decodeListCursor, encodeListCursor } from './admin-list-cursor';
import { AdminSessionsQueryDto } from './dto/admin-sessions-query.dto';
import { AdminActor } from './takeover.service';

/** What administrators do to any session over REST besides takeover: read it and end it, both audited. */
@Injectable()
export class AdminSessionsService {
  private readonly logger = new Logger(AdminSessionsService.name);

  constructor(
    private readonly sessions: SessionService,
    private readonly turns: TurnEngine,
    private readonly broadcaster: RoomBroadcaster,
    private readonly audit: AuditService,
  ) {}

  /** A page of every session, as `GET /admin/sessions` asks for it. */
  async list(
    query: AdminSessionsQueryDto,
  ): Promise<{ sessions: AdminSessionView[]; nextCursor: string | null; total?: number }> {
    const flag = (value?: 'true' | 'false') => (value === undefined ? undefined : value === 'true');
    const order = { sort: query.sort, order: query.order };
    const page = await this.sessions.adminList(
      {
        userId: query.userId,
        status: query.status,
        owner: query.owner,
        assisted: flag(query.assisted),
        helpRequested: flag(query.helpRequested),
        modelId: query.modelId,
        ...parseRange(query.from, query.to),
        namePrefix: query.q,
      },
      order,
      query.limit,
      query.cursor === undefined ? undefined : decodeListCursor(query.cursor, query.sort, query.order),
      query.withTotal === 'true',
    );
    return {
      sessions: page.sessions,
      nextCursor: page.next ? encodeListCursor(query.sort, query.order, page.next) : null,
      ...(page.total === undefined ? {} : { total: page.total }),
    };
  }

  /**
   * The session and a page of its transcript, read backwards like the user's. The view is recorded in the
   * audit log first: when it cannot be, nothing is shown (503 `unavailable`).
   */
  async view(
    actor: AdminActor,
    sessionId: string,
    page: { beforeSeq?: number; limit?: number },
  ): Promise<{ session: AdminSessionView } & TranscriptPage> {
    const session = await this.sessions.adminView(sessionId);
    const details: AuditDetails = {};
    if (page.beforeSeq !== undefined) details.beforeSeq = page.beforeSeq;
    if (page.limit !== undefined) details.limit = page.limit;
    try {
      await this.record('transcript_view', actor, sessionId, details);
    } catch (error) {
      this.logger.error({ err: error, sessionId, requestId: actor.requestId }, 'transcript view not audited; refused');
      throw new AppError('unavailable', 'The view could not be recorded in the audit log; try again');
    }
    return { session, ...(await this.sessions.transcript(sessionId, page)) };
  }

  /**
   * Ends the session, whoever owns it: a reply under way stops, the user's devices are told, and the end is
   * audited. Idempotent: an ended session is answered as it is (its reply stopped, its state told again),
   * and audited once.
   */
  async end(actor: AdminActor, sessionId: string): Promise<SessionView> {
    const { session, ended } = await this.sessions.endAny(sessionId);
    // Recorded by the call that ended it, before anything else can fail; the end is made already, so an
    // audit failure is logged loudly, never undone.
    if (ended) {
      await this.record('end', actor, sessionId).catch((error: unknown) =>
        this.logger.error({ err: error, sessionId, requestId: actor.requestId }, 'audit record not written'),
      );
    }
    // On every call, both idempotent: a retry finishes what a failed one left undone.
    await this.turns.stop(sessionId, 'session_ended');
    this.broadcaster.toSession(sessionId, 'session:state', { ...session });
    return session;
  }

  private async record(
    action: AuditAction,
    { principal, requestId }: AdminActor,
    sessionId: string,
    details?: AuditDetails,
  ) {
    await this.audit.record({
      action,
      actor: adminActor(principal),
      sessionId,
      requestId,
      ...(details && Object.keys(details).length > 0 ? { details } : {}),
    });
  }
}
