import { once } from 'node:events';
import type { ObjectStorage } from '../../src/upload/storage/object-storage';
import * as http from 'node:http';
import { waitFor } from './wait-for';

/** A 1×1 PNG. */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

/** The start of a 64-bit ELF executable. */
export function elfBytes(): Buffer {
  const elf = Buffer.alloc(128);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(elf);
  elf.writeUInt16LE(2, 16);
  elf.writeUInt16LE(0x3e, 18);
  return elf;
}

/** A form with one file part, declared as a PDF whatever it holds: the server must not believe it. */
export function uploadForm(bytes: Uint8Array, name: string): FormData {
  const form = new FormData();
  form.append('file', new Blob([bytes], { type: 'application/pdf' }), name);
  return form;
}

/** What `POST <prefix>/files` answers: the file, or an error's code. */
export interface UploadAnswer {
  status: number;
  body: { fileId: string; name: string; type: string; size: number; code?: string };
}

/** Uploads `bytes` as `name` for the user of `token`, through the app's upload route. */
export async function uploadFile(
  baseUrl: string,
  token: string,
  bytes: Uint8Array,
  name: string,
): Promise<UploadAnswer> {
  const res = await fetch(`${baseUrl}/chatbox/files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: uploadForm(bytes, name),
  });
  return { status: res.status, body: (await res.json()) as UploadAnswer['body'] };
}

const BOUNDARY = 'chatbox-test-boundary';
const head = (name: string) =>
  Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n` +
      'Content-Type: text/plain\r\n\r\n',
  );

function uploadRequest(baseUrl: string, token: string, agent?: http.Agent): http.ClientRequest {
  const { hostname, port } = new URL(baseUrl);
  const request = http.request({
    agent,
    host: hostname,
    port,
    method: 'POST',
    path: '/chatbox/files',
    headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
  });
  // A refused upload closes the connection under the rest of the body: writes after that fail, as expected.
  request.on('error', () => undefined);
  return request;
}

/** Sends the start of a file until `until` holds, then drops the connection in the middle of the body. */
export async function cutUpload(baseUrl: string, token: string, until: () => boolean): Promise<void> {
  const request = uploadRequest(baseUrl, token);
  request.write(head('cut.txt'));
  const chunk = Buffer.alloc(65536, 'a');
  await waitFor(
    async () => {
      if (!request.write(chunk)) await once(request, 'drain');
      return until() || undefined;
    },
    { intervalMs: 1, what: 'the server to stage the upload' },
  );
  request.destroy();
}

export interface StreamedUpload {
  status?: number;
  body?: { code?: string };
  /** Body bytes the client handed to the socket before the server closed the connection. */
  sentBytes: number;
}

/**
 * Streams `totalBytes` of file content from a generator (never held whole) on a keep-alive connection,
 * and goes on writing after an early answer, as long as the server reads: only the server closing the
 * connection stops it.
 */
export async function streamUpload(baseUrl: string, token: string, totalBytes: number): Promise<StreamedUpload> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const request = uploadRequest(baseUrl, token, agent);
  const result: StreamedUpload = { sentBytes: 0 };
  let closed = false;
  const closing = new Promise<void>((resolve) =>
    request.once('close', () => {
      closed = true;
      resolve();
    }),
  );
  const answered = new Promise<void>((resolve) => {
    request.on('response', (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => {
        result.status = response.statusCode;
        result.body = JSON.parse(text) as { code?: string };
        resolve();
      });
    });
  });
  function* content(): Generator<Buffer> {
    const chunk = Buffer.alloc(1048576, 'a');
    for (let sent = 0; sent < totalBytes; sent += chunk.length) yield chunk;
  }
  // A deadline, not a pause: a server that stops reading without closing would leave the client stuck.
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the server stopped reading after ${result.sentBytes} bytes without closing`)),
      20000,
    );
  });
  try {
    request.write(head('huge.txt'));
    for (const chunk of content()) {
      if (closed) break;
      result.sentBytes += chunk.length;
      if (!request.write(chunk)) await Promise.race([once(request, 'drain').catch(() => undefined), closing, stuck]);
    }
    if (!closed) request.end(`\r\n--${BOUNDARY}--\r\n`);
    await Promise.race([answered, stuck]);
    return result;
  } finally {
    clearTimeout(timer);
    request.destroy();
    agent.destroy();
  }
}

/** Whether storage still holds bytes under `key` (a missing object reads as none, whichever the driver). */
export async function objectReadable(storage: ObjectStorage, key: string): Promise<boolean> {
  try {
    for await (const chunk of await storage.read(key)) return (chunk as Buffer).length > 0;
    return false;
  } catch {
    return false;
  }
}
