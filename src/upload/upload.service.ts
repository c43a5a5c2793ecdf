import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { Principal } from '../auth/principal';
import { AppError } from '../common/errors/app-error';
import { RoomBroadcaster } from '../common/realtime/room-broadcaster';
import { AppConfig } from '../config/app-config';
import { SessionService } from '../session/session.service';
import { FileRef } from '../session/session-views';
import { sanitizeFileName } from './file-name';
import { detectFileType } from './file-type';
import { FileRecord, FileRepository } from './file.repository';
import { ObjectStorage } from './storage/object-storage';

/** What an upload answers. */
export interface UploadedFile {
  fileId: string;
  name: string;
  type: string;
  size: number;
}

/** A file as the user's export lists it. */
export interface ExportedFile {
  id: string;
  name: string;
  type: string;
  size: number;
  sha256: string;
  sessionId: string | null;
  createdAt: string;
  storageKey: string;
}

/** An uploaded file's bytes as they arrive, and the name the client gave. */
export interface IncomingFile {
  stream: Readable;
  filename?: string;
}

const WINDOW_MS = 60_000;
/** Files read per round trip while erasing. */
const ERASE_BATCH = 100;
const notFound = () => new AppError('not_found', 'No such file');

/**
 * Files: upload (streamed to a staging file while counted and hashed, typed by content, then moved into
 * storage and recorded), signed downloads for those who may see a file, deletion, and attaching files
 * to messages. A file nobody may see is indistinguishable from none (not_found).
 */
@Injectable()
export class UploadService {
  private readonly logger = new Logger(UploadService.name);
  private readonly stagingDir: string;

  constructor(
    private readonly config: AppConfig,
    private readonly files: FileRepository,
    private readonly storage: ObjectStorage,
    private readonly sessions: SessionService,
    private readonly broadcaster: RoomBroadcaster,
    @Inject(ThrottlerStorage) private readonly throttler: ThrottlerStorage,
  ) {
    this.stagingDir = path.join(config.upload.dir, 'staging');
  }

  async upload(principal: Principal, incoming: IncomingFile): Promise<UploadedFile> {
    const { maxBytes, quotaBytes } = this.config.upload;
    await this.countUpload(principal.userId);
    const used = await this.files.usedBytes(principal.userId);
    if (used >= quotaBytes) throw quotaExceeded(quotaBytes);
    await mkdir(this.stagingDir, { recursive: true });
    const staged = path.join(this.stagingDir, randomUUID());
    const hash = createHash('sha256');
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        // Refused at the first byte past the limit: the rest of the body is never read.
        if (size > maxBytes) return done(new AppError('file_too_large', `Files are limited to ${maxBytes} bytes`));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(incoming.stream, counter, createWriteStream(staged, { flags: 'wx' })).catch(
        async (error: unknown) => {
          if (error instanceof AppError) throw error;
          await rm(staged, { force: true });
          this.logger.warn({ err: error, userId: principal.userId, bytes: size }, 'upload not completed; nothing kept');
          throw new AppError('invalid_payload', 'The upload did not complete');
        },
      );
      const detected = await detectFileType(staged, size);
      if (!detected) throw new AppError('unsupported_file_type', 'This kind of file is not accepted');
      const record: FileRecord = {
        _id: randomUUID(),
        ownerId: principal.userId,
        sessionId: null,
        storageKey: randomUUID(),
        name: sanitizeFileName(incoming.filename, detected),
        type: detected.type,
        size,
        sha256: hash.digest('hex'),
        kind: detected.kind,
        createdAt: new Date(),
        pending: true,
        deletedAt: null,
      };
      // The record first, so no bytes are ever stored that no record names (the sweeper finishes what a crash cuts).
      await this.files.insert(record);
      try {
        // Counted again with this upload's record in: racing uploads never overshoot the quota together. Near
        // it, they may all be refused (each counts the others); sent again one at a time, those that fit go in.
        // Ordering them instead (the earliest wins) needs the order of inserts, which no field gives.
        if ((await this.files.usedBytes(principal.userId)) > quotaBytes) throw quotaExceeded(quotaBytes);
        await this.storage.put(record.storageKey, staged, record);
        // Erased meanwhile (its owner's data deleted): the object goes too, and the upload is answered as gone.
        if (!(await this.files.markStored(record._id))) throw notFound();
      } catch (error) {
        await this.discard(record).catch((cleanup: unknown) =>
          this.logger.warn({ err: cleanup, fileId: record._id }, 'upload not cleaned up; the sweeper will'),
        );
        throw error;
      }
      return { fileId: record._id, name: record.name, type: record.type, size: record.size };
    } finally {
      await rm(staged, { force: true });
    }
  }

  /**
   * Removes what uploads cut short by a crash left: records made more than `maxAgeMs` before `now` whose
   * object was never confirmed written (with the object, if any), and staged files as old. Returns how
   * many of each went.
   */
  async sweepAbandoned(now: Date, maxAgeMs: number): Promise<{ records: number; staged: number }> {
    const before = new Date(now.getTime() - maxAgeMs);
    let records = 0;
    for (;;) {
      const batch = await this.files.findUnstored(before, ERASE_BATCH);
      for (const file of batch) await this.discard(file);
      records += batch.length;
      if (batch.length < ERASE_BATCH) break;
    }
    let staged = 0;
    const names = await readdir(this.stagingDir).catch(() => [] as string[]);
    for (const name of names) {
      const file = path.join(this.stagingDir, name);
      const info = await stat(file).catch(() => undefined);
      if (info && info.mtime < before) {
        await rm(file, { force: true });
        staged++;
      }
    }
    return { records, staged };
  }

  /**
   * Retention for files never sent: those uploaded before `before` go, object and record. Each is first
   * marked deleted on the condition that it is still unsent, so a message attaching it meanwhile keeps it.
   * Returns how many went.
   */
  async eraseUnsent(before: Date): Promise<number> {
    let erased = 0;
    for (;;) {
      const batch = await this.files.findUnsent(before, ERASE_BATCH);
      for (const file of batch) {
        if (!(await this.files.markUnsentDeleted(file._id, new Date()))) continue;
        await this.discard(file);
        erased++;
      }
      if (batch.length < ERASE_BATCH) return erased;
    }
  }

  /**
   * The bytes of a file the principal may see, served by the app itself: for pages, which fetch with the
   * token and cannot follow a redirect to a bucket on another origin.
   */
  async content(principal: Principal, fileId: string): Promise<{ stream: Readable; file: FileRecord }> {
    const file = await this.files.findLive(fileId);
    if (!file || !(await this.mayRead(principal, file))) throw notFound();
    return { stream: await this.storage.read(file.storageKey), file };
  }

  /** A fresh signed URL for a file the principal may see. */
  async downloadUrl(principal: Principal, fileId: string): Promise<string> {
    const file = await this.files.findLive(fileId);
    if (!file || !(await this.mayRead(principal, file))) throw notFound();
    return this.storage.downloadUrl(file.storageKey, {
      name: file.name,
      type: file.type,
      inline: file.kind === 'image',
      ttlS: this.config.upload.downloadUrlTtlS,
    });
  }

  /** A live image's bytes, for a model that may see it; undefined when it is gone or not an image. */
  imageBytes(fileId: string): Promise<Buffer | undefined> {
    return this.bytesOf(fileId, 'image/');
  }

  /** A live voice note's bytes, to transcribe; undefined when it is gone or not audio. */
  audioBytes(fileId: string): Promise<Buffer | undefined> {
    return this.bytesOf(fileId, 'audio/');
  }

  private async bytesOf(fileId: string, typePrefix: string): Promise<Buffer | undefined> {
    const file = await this.files.findLive(fileId);
    if (!file || !file.type.startsWith(typePrefix)) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of await this.storage.read(file.storageKey)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** Every live file of the user, described for an export. */
  async filesOf(userId: string): Promise<ExportedFile[]> {
    const files: ExportedFile[] = [];
    for (;;) {
      const page = await this.files.findLiveOfOwner(userId, ERASE_BATCH, files.at(-1)?.id);
      files.push(
        ...page.map((f) => ({
          id: f._id,
          name: f.name,
          type: f.type,
          size: f.size,
          sha256: f.sha256,
          sessionId: f.sessionId,
          createdAt: f.createdAt.toISOString(),
          storageKey: f.storageKey,
        })),
      );
      if (page.length < ERASE_BATCH) return files;
    }
  }

  /** A file's bytes, opened only when first read (an export opens one object at a time). */
  contentOf(file: ExportedFile): Readable {
    const storage = this.storage;
    return Readable.from(
      (async function* () {
        yield* await storage.read(file.storageKey);
      })(),
    );
  }

  /**
   * Erases the files sent in a session, or every file a user uploaded (data rights): each object first, then
   * its record, so a run cut short is finished by the next (deleting an object that is gone succeeds).
   * Returns how many files were erased.
   */
  async erase(where: { sessionId: string } | { ownerId: string }): Promise<number> {
    let erased = 0;
    for (;;) {
      const batch = await this.files.findForErasure(where, ERASE_BATCH);
      if (batch.length === 0) return erased;
      for (const file of batch) {
        await this.discard(file);
        erased++;
      }
    }
  }

  /** The owner deletes: the object goes first (idempotent, so a failed delete can be repeated), then the record is marked. */
  async remove(principal: Principal, fileId: string): Promise<void> {
    const file = await this.files.findLive(fileId);
    if (!file || file.ownerId !== principal.userId) throw notFound();
    await this.storage.delete(file.storageKey);
    await this.files.markDeleted(file._id, principal.userId, new Date());
  }

  /**
   * The references a message in the session carries. A user may attach their own files; an administrator
   * their own, and those already in the session they hold. Each file is tied to the session by a
   * conditional update of its own record; one that cannot be is not_found, and nothing is sent.
   */
  async attach(principal: Principal, sessionId: string, fileIds: string[]): Promise<FileRef[]> {
    const refs: FileRef[] = [];
    for (const id of new Set(fileIds)) {
      const mine = await this.files.attach(id, principal.userId, sessionId);
      const file = await this.files.findLive(id);
      const usable = file && (mine || (principal.isAdmin && file.sessionId === sessionId));
      if (!usable) throw new AppError('not_found', `No such file: ${id}`);
      refs.push({ id: file._id, name: file.name, type: file.type, size: file.size });
    }
    return refs;
  }

  /** The object (if it was written) and then the record that names it. */
  private async discard(file: FileRecord): Promise<void> {
    await this.storage.delete(file.storageKey);
    await this.files.remove(file._id);
  }

  /** Its owner, or an administrator holding or watching the session it was sent in. */
  private async mayRead(principal: Principal, file: FileRecord): Promise<boolean> {
    if (file.ownerId === principal.userId) return true;
    if (!file.sessionId) return false;
    const session = await this.sessions.find(file.sessionId);
    // The session's user sees every file sent in it, an administrator's included.
    if (session.userId === principal.userId) return true;
    if (!principal.isAdmin) return false;
    if (session.owner === `admin:${principal.userId}`) return true;
    return (await this.broadcaster.adminsInSession(file.sessionId)).includes(principal.userId);
  }

  private async countUpload(userId: string): Promise<void> {
    const limit = this.config.upload.ratePerMinute;
    const record = await this.throttler.increment(`upload:${userId}`, WINDOW_MS, limit, WINDOW_MS, 'upload');
    if (record.isBlocked) {
      throw new AppError('rate_limited', `More than ${limit} uploads in a minute; slow down`, {
        retryAfterMs: record.timeToBlockExpire * 1000,
      });
    }
  }
}

const quotaExceeded = (quota: number) =>
  new AppError('quota_exceeded', `Your files may take ${quota} bytes in all; delete some to make room`);
