import { createHmac, timingSafeEqual } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '../../common/errors/app-error';
import type { SignedDownloadQueryDto } from '../dto/signed-download.query.dto';
import { contentDisposition } from './content-disposition';
import { DownloadOptions, ObjectStorage } from './object-storage';

export interface OpenedObject {
  stream: ReadStream;
  size: number;
  type: string;
  disposition: string;
  expiresAt: number;
}

const KEY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Files under a directory of the data folder. Download URLs point back at the app (`<prefix>/downloads/<key>`)
 * and carry an expiry, the type and the disposition, all signed with HMAC-SHA256: the app serves
 * exactly what it signed, until the expiry, to whoever holds the URL — as a presigned S3 URL does.
 */
export class LocalDiskObjectStorage extends ObjectStorage {
  constructor(
    private readonly root: string,
    private readonly urlPrefix: string,
    private readonly signingKey: Buffer,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  async put(key: string, stagedPath: string): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    // The staging area is on the same file system: the object appears whole or not at all.
    await rename(stagedPath, target);
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  read(key: string): Promise<Readable> {
    return Promise.resolve(createReadStream(this.pathOf(key)));
  }

  downloadUrl(key: string, options: DownloadOptions): Promise<string> {
    const expires = String(Math.floor(this.now() / 1000) + options.ttlS);
    const disposition = contentDisposition(options.name, options.inline);
    const query = new URLSearchParams({ expires, type: options.type, disposition });
    query.set('signature', this.sign(key, expires, options.type, disposition));
    return Promise.resolve(`${this.urlPrefix}/downloads/${key}?${query.toString()}`);
  }

  /** The object a signed URL names: `not_found` for a bad signature or a deleted object, `forbidden` once expired. */
  async open(key: string, query: SignedDownloadQueryDto): Promise<OpenedObject> {
    const { expires, type, disposition, signature } = query;
    if (!KEY.test(key)) throw notFound();
    const expected = Buffer.from(this.sign(key, expires, type, disposition));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw notFound();
    const expiresAt = Number(expires) * 1000;
    if (!(expiresAt > this.now())) throw new AppError('forbidden', 'This download link has expired');
    const file = this.pathOf(key);
    const size = await stat(file).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined) throw notFound();
    return { stream: createReadStream(file), size, type, disposition, expiresAt };
  }

  private sign(key: string, expires: string, type: string, disposition: string): string {
    return createHmac('sha256', this.signingKey)
      .update(`${key}\n${expires}\n${type}\n${disposition}`)
      .digest('base64url');
  }

  private pathOf(key: string): string {
    if (!KEY.test(key)) throw new Error(`not a storage key: ${key}`);
    return path.join(this.root, key.slice(0, 2), key);
  }
}

const notFound = () => new AppError('not_found', 'No such file');
