import { Readable } from 'node:stream';
import { Injectable, Logger } from '@nestjs/common';
import { ZipFile } from 'yazl';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../auth/principal';
import { AppError } from '../common/errors/app-error';
import { RoomBroadcaster } from '../common/realtime/room-broadcaster';
import { AppConfig } from '../config/app-config';
import { NotificationService } from '../notification/notification.service';
import { addErasures, NOTHING_ERASED, SessionErasure, SessionErasureService } from '../session/session-erasure.service';
import { SessionCursor, SessionService } from '../session/session.service';
import { SessionView } from '../session/session-views';
import { TurnEngine } from '../turn/turn-engine.service';
import { UploadService } from '../upload/upload.service';

/** What erasing deleted: the sessions and what hung off them, their files, and the notifications about them. */
export type Erasure = SessionErasure & { files: number; notifications: number };

const BATCH = 100;
/** Messages read per round trip while a session's file is written. */
const EXPORT_PAGE = 200;

/** One session in the export's `index.json`: its view, and the file holding its messages. */
export type ExportedSession = SessionView & { file: string };

/**
 * The user's rights over their data: a copy of it, and its erasure (see the README for what is kept).
 * Every kind of the user's data is one step here: a file (or files) of the export, one call in
 * `eraseSession` (per session) or `eraseUser` (per user).
 */
@Injectable()
export class DataRightsService {
  private readonly logger = new Logger(DataRightsService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly sessions: SessionService,
    private readonly erasure: SessionErasureService,
    private readonly notifications: NotificationService,
    private readonly turns: TurnEngine,
    private readonly broadcaster: RoomBroadcaster,
    private readonly audit: AuditService,
    private readonly uploads: UploadService,
  ) {}

  /**
   * Deletes every session of the user, with its messages, files, links, owner changes, lease and notifications,
   * and every file the user uploaded;
   * recorded in the audit log (counts only). Safe to run again after a crash: what is left is found by the
   * user id and finished. Each session is ended and its reply stopped first, and waited for (at most a
   * lease), so a reply streaming now has stored what it had before anything is deleted.
   */
  async eraseUser(principal: Principal, requestId: string): Promise<Erasure> {
    let erased: Erasure = { ...NOTHING_ERASED, files: 0, notifications: 0 };
    for (;;) {
      const ids = await this.erasure.idsOfUser(principal.userId, BATCH);
      if (ids.length === 0) break;
      for (const sessionId of ids) {
        await this.endForErasure(principal, sessionId);
        erased = addCounts(erased, await this.eraseSession(sessionId));
      }
    }
    // Uploaded but never sent, or left behind by a run cut short.
    erased = { ...erased, files: erased.files + (await this.uploads.erase({ ownerId: principal.userId })) };
    await this.audit.record({
      action: 'user_erased',
      actor: { kind: 'user', id: principal.userId },
      requestId,
      details: { ...erased },
    });
    this.logger.log({ userId: principal.userId, ...erased }, 'user data erased');
    return erased;
  }

  /** Erases one session whose turn is stopped (or was never running): idempotent. */
  async eraseSession(sessionId: string): Promise<Erasure> {
    const notifications = await this.notifications.forgetSession(sessionId);
    // Before the session, which goes last: a run cut short finds the session and finishes.
    const files = await this.uploads.erase({ sessionId });
    return { ...(await this.erasure.erase(sessionId)), files, notifications };
  }

  /**
   * A zip of every session of the user with its messages, decrypted, and of their files, streamed as it is
   * read: `index.json` lists the sessions (most recently active first) and the files, then
   * `sessions/<id>.json` holds each one's messages in seq order, read a page at a time when the zip gets to
   * it, and `files/<id>-<name>` each file's bytes, opened when the zip gets to it. Only the lists are held whole.
   */
  async exportUser(principal: Principal): Promise<Readable> {
    const sessions: ExportedSession[] = [];
    let cursor: SessionCursor | undefined;
    do {
      const page = await this.sessions.list(principal, BATCH, cursor);
      sessions.push(...page.sessions.map((session) => ({ ...session, file: `sessions/${session.id}.json` })));
      cursor = page.next;
    } while (cursor);
    const zip = new ZipFile();
    // yazl's output is a Node stream (its types say ReadableStream).
    const output = zip.outputStream as unknown as Readable;
    // A read that fails mid-way cuts the download short rather than ending a zip that lacks it.
    zip.on('error', (error: Error) => output.destroy(error));
    const files = (await this.uploads.filesOf(principal.userId)).map((file) => ({
      file,
      path: `files/${file.id}-${file.name}`,
    }));
    const index = {
      userId: principal.userId,
      exportedAt: new Date().toISOString(),
      sessions,
      files: files.map(({ file, path }) => ({
        id: file.id,
        name: file.name,
        type: file.type,
        size: file.size,
        sha256: file.sha256,
        sessionId: file.sessionId,
        createdAt: file.createdAt,
        file: path,
      })),
    };
    zip.addBuffer(Buffer.from(JSON.stringify(index, null, 2)), 'index.json');
    for (const session of sessions) zip.addReadStream(Readable.from(this.sessionJson(session)), session.file);
    for (const { file, path } of files) zip.addReadStream(this.uploads.contentOf(file), path);
    zip.end();
    return output;
  }

  /** `{ session, messages }` as JSON text, a page of messages at a time. */
  private async *sessionJson(session: SessionView): AsyncGenerator<string> {
    yield `{"session":${JSON.stringify(session)},"messages":[`;
    let afterSeq = 0;
    let separator = '';
    for (;;) {
      const page = await this.sessions.transcript(session.id, { afterSeq, limit: EXPORT_PAGE });
      for (const message of page.messages) {
        yield `${separator}\n${JSON.stringify(message)}`;
        separator = ',';
      }
      const last = page.messages.at(-1);
      if (!page.hasMore || !last) break;
      afterSeq = last.seq;
    }
    yield '\n]}\n';
  }

  /** Ends the session, stops its reply and waits for it to be stored; its devices are told it ended. */
  private async endForErasure(principal: Principal, sessionId: string): Promise<void> {
    const ended = await this.sessions.end(principal, sessionId).catch((error: unknown) => {
      // Erased meanwhile, by a concurrent request.
      if (error instanceof AppError && error.code === 'not_found') return undefined;
      throw error;
    });
    await this.turns.stop(sessionId, 'session_ended');
    await this.turns.settled(sessionId, this.config.chat.turnLeaseMs);
    if (ended) this.broadcaster.toSessionAndUser(sessionId, principal.userId, 'session:state', { ...ended });
  }
}

const addCounts = (a: Erasure, b: Erasure): Erasure => ({
  ...addErasures(a, b),
  files: a.files + b.files,
  notifications: a.notifications + b.notifications,
});
