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
  private readonly urls = new Map<string, Promise<string>>();

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

  /** A blob: URL of a message file's bytes, fetched on first use; a failed fetch is tried again next time. */
  url(fileId: string): Promise<string> {
    let url = this.urls.get(fileId);
    if (!url) {
      url = this.fetchBlob(fileId).then((blob) => URL.createObjectURL(blob));
      url.catch(() => this.urls.delete(fileId));
      this.urls.set(fileId, url);
    }
    return url;
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
