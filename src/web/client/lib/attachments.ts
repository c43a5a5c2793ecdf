import type { FileRef, ProtocolError, UploadedFile } from './protocol';

/** A file picked or recorded for the next message: uploading, uploaded, or refused. */
export interface Attachment {
  key: string;
  name: string;
  size: number;
  /** Bytes sent so far. */
  loaded: number;
  status: 'uploading' | 'done' | 'failed';
  file?: FileRef;
  error?: ProtocolError;
}

export type AttachmentAction =
  | { kind: 'add'; key: string; name: string; size: number }
  | { kind: 'progress'; key: string; loaded: number }
  | { kind: 'done'; key: string; uploaded: UploadedFile }
  | { kind: 'failed'; key: string; error: ProtocolError }
  | { kind: 'remove'; key: string }
  | { kind: 'restore'; items: readonly Attachment[] };

/** At most this many files go with one message (`fileIds` of docs/protocol.md). */
export const MAX_ATTACHMENTS = 10;

/** The composer's attachments after `action`; an action for a file no longer listed changes nothing. */
export function attachments(list: readonly Attachment[], action: AttachmentAction): readonly Attachment[] {
  const change = (key: string, patch: Partial<Attachment>) =>
    list.some((a) => a.key === key) ? list.map((a) => (a.key === key ? { ...a, ...patch } : a)) : list;
  switch (action.kind) {
    case 'add':
      return [...list, { key: action.key, name: action.name, size: action.size, loaded: 0, status: 'uploading' }];
    case 'progress':
      return change(action.key, { loaded: Math.min(action.loaded, sizeOf(list, action.key)) });
    case 'done': {
      const { fileId: id, name, type, size } = action.uploaded;
      return change(action.key, { status: 'done', loaded: size, size, name, file: { id, name, type, size } });
    }
    case 'failed':
      return change(action.key, { status: 'failed', error: action.error });
    case 'remove':
      return list.filter((a) => a.key !== action.key);
    case 'restore':
      // Files given back after a send that failed go first, ahead of any picked meanwhile.
      return [...action.items.filter((item) => !list.some((a) => a.key === item.key)), ...list];
  }
}

const sizeOf = (list: readonly Attachment[], key: string) => list.find((a) => a.key === key)?.size ?? 0;

/** The uploaded files, in the order they were picked. */
export const readyFiles = (list: readonly Attachment[]): FileRef[] =>
  list.flatMap((a) => (a.status === 'done' && a.file ? [a.file] : []));

export const uploading = (list: readonly Attachment[]) => list.some((a) => a.status === 'uploading');

/** Whole percent sent of one upload, for its progress bar. */
export const percent = (a: Attachment) => (a.size > 0 ? Math.floor((a.loaded / a.size) * 100) : 0);

/** Whether there is anything to send: words, or files alone (sent with no text). */
export const worthSending = (text: string, files: readonly FileRef[]) => text.trim() !== '' || files.length > 0;

/** A size for people: bytes, then KB and MB (powers of 1024) with at most one decimal. */
export function formatSize(bytes: number, lang: string): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toLocaleString(lang, { maximumFractionDigits: digits })} ${units[unit]}`;
}

/** A recording's elapsed time as m:ss. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/** The media type a voice note is recorded in: the first the browser's MediaRecorder supports that uploads take. */
export function recordingType(isSupported: (type: string) => boolean): string | undefined {
  // Safari records MP4 (AAC) only.
  return ['audio/webm;codecs=opus', 'audio/webm', 'audio/ogg;codecs=opus', 'audio/ogg', 'audio/mp4'].find(isSupported);
}

/** A voice note's file name, from when it was recorded and its type. */
export function recordingName(at: Date, type: string): string {
  const stamp = at.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  const ext = type.startsWith('audio/ogg') ? 'ogg' : type.startsWith('audio/mp4') ? 'm4a' : 'webm';
  return `voice-note-${stamp}.${ext}`;
}
