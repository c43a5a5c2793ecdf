import { RequestError } from './connection';
import type { TokenSource } from './connection';
import type { ProtocolError, UploadedFile } from './protocol';

/** An upload under way: its answer, and a way to stop it. */
export interface Upload {
  done: Promise<UploadedFile>;
  abort(): void;
}

/** The code an upload stopped by the user rejects with; it is not shown as an error. */
export const ABORTED = 'aborted';

/**
 * The user's (or administrator's) files: uploads through `POST <prefix>/files`, and message files as
 * blob: URLs. An <img> or <audio> cannot send the token, so the bytes are fetched with it (from
 * `<prefix>/files/:id/content`) and shown from memory; each file is fetched once per page.
 */
export class FileAccess {
  private readonly urls = new SharedUrls((fileId) => this.fetchBlob(fileId));

  constructor(
    private readonly prefix: string,
    private readonly tokens: TokenSource,
  ) {}

  /** Sends `file` with progress reports; a refused token is renewed once and the upload sent again. */
  upload(file: Blob, name: string, onProgress: (loaded: number) => void): Upload {
    let request: XMLHttpRequest | undefined;
    let aborted = false;
    const send = async (attempt: number): Promise<UploadedFile> => {
      const token = this.tokens.current() ?? (await this.tokens.request('initial'));
      if (aborted) throw new RequestError({ code: ABORTED, message: 'Cancelled', recoverable: false });
      const answer = await new Promise<{ status: number; body: unknown }>((resolve, reject) => {
        const xhr = (request = new XMLHttpRequest());
        xhr.open('POST', `${this.prefix}/files`);
        xhr.setRequestHeader('authorization', `Bearer ${token}`);
        xhr.setRequestHeader('accept', 'application/json');
        xhr.responseType = 'json';
        xhr.upload.onprogress = (event) => onProgress(event.loaded);
        xhr.onload = () => resolve({ status: xhr.status, body: xhr.response as unknown });
        xhr.onerror = () => reject(failure('unavailable', 'The upload failed', true));
        xhr.onabort = () => reject(failure(ABORTED, 'Cancelled', false));
        const form = new FormData();
        form.append('file', file, name);
        xhr.send(form);
      });
      if (answer.status === 201 || answer.status === 200) return answer.body as UploadedFile;
      if (answer.status === 401 && attempt === 0) {
        await this.tokens.request('expired');
        return send(1);
      }
      const body = (answer.body ?? {}) as Partial<ProtocolError>;
      throw failure(
        body.code ?? 'unavailable',
        body.message ?? `HTTP ${answer.status}`,
        answer.status >= 500 || answer.status === 429,
        body.retryAfterMs,
      );
    };
    return {
      done: send(0),
      abort: () => {
        aborted = true;
        request?.abort();
      },
    };
  }

  /** A blob: URL of a message file's bytes, held until released (see SharedUrls). */
  url(fileId: string): HeldUrl {
    return this.urls.acquire(fileId);
  }

  private async fetchBlob(fileId: string): Promise<Blob> {
    for (let attempt = 0; ; attempt += 1) {
      const token = this.tokens.current() ?? (await this.tokens.request('initial'));
      // Served by the app whatever the storage: a bucket's presigned URL is on another origin.
      const response = await fetch(`${this.prefix}/files/${encodeURIComponent(fileId)}/content`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (response.ok) return response.blob();
      if (response.status === 401 && attempt === 0) {
        await this.tokens.request('expired');
        continue;
      }
      const body = (await response.json().catch(() => ({}))) as Partial<ProtocolError>;
      throw failure(body.code ?? 'unavailable', body.message ?? response.statusText, response.status >= 500);
    }
  }
}

const failure = (code: string, message: string, recoverable: boolean, retryAfterMs?: number) =>
  new RequestError({ code, message, recoverable, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });

/** A blob: URL being fetched or ready, for as long as its holder has not released it. */
export interface HeldUrl {
  url: Promise<string>;
  /** The holder no longer shows it; a second call does nothing. */
  release(): void;
}

interface BlobUrlApi {
  create(blob: Blob): string;
  revoke(url: string): void;
}

const browserUrls: BlobUrlApi = {
  create: (blob) => URL.createObjectURL(blob),
  revoke: (url) => URL.revokeObjectURL(url),
};

/**
 * blob: URLs shared by every element showing the same file: fetched once for all of them, and revoked (its
 * bytes freed) when the last one lets go, so a page that shows many files over time does not keep them all.
 * A failed fetch is tried again by the next holder.
 */
export class SharedUrls {
  private readonly entries = new Map<string, { url: Promise<string>; holders: number }>();

  constructor(
    private readonly load: (id: string) => Promise<Blob>,
    private readonly api: BlobUrlApi = browserUrls,
  ) {}

  acquire(id: string): HeldUrl {
    let entry = this.entries.get(id);
    if (!entry) {
      const created = { url: this.load(id).then((blob) => this.api.create(blob)), holders: 0 };
      created.url.catch(() => {
        if (this.entries.get(id) === created) this.entries.delete(id);
      });
      this.entries.set(id, created);
      entry = created;
    }
    entry.holders += 1;
    const held = entry;
    let released = false;
    return {
      url: held.url,
      release: () => {
        if (released) return;
        released = true;
        held.holders -= 1;
        if (held.holders > 0 || this.entries.get(id) !== held) return;
        this.entries.delete(id);
        held.url.then(
          (url) => this.api.revoke(url),
          () => undefined,
        );
      },
    };
  }
}
