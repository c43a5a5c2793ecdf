import { open } from 'node:fs/promises';
import { fileTypeFromFile } from 'file-type';
import { boxAt, mp4TrackHandlers } from './mp4-tracks';
import { webmTrackTypes } from './webm-tracks';

export type FileKind = 'image' | 'pdf' | 'document' | 'text' | 'audio';

export interface DetectedType {
  type: string;
  /** The extension the stored name gets. */
  ext: string;
  kind: FileKind;
}

/**
 * The allow-list, by the type read from the content's magic bytes. Not here: SVG and HTML (script),
 * executables, archives, and generic OLE containers (an .msi is one as much as a .doc).
 */
const ALLOWED: Record<string, FileKind> = {
  'image/png': 'image',
  'image/jpeg': 'image',
  'image/gif': 'image',
  'image/webp': 'image',
  'image/avif': 'image',
  'image/heic': 'image',
  'application/pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'document',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'document',
  'application/vnd.oasis.opendocument.text': 'document',
  'application/vnd.oasis.opendocument.spreadsheet': 'document',
  'application/vnd.oasis.opendocument.presentation': 'document',
  'application/rtf': 'document',
  'audio/mpeg': 'audio',
  'audio/wav': 'audio',
  'audio/ogg': 'audio',
  'audio/opus': 'audio',
  'audio/flac': 'audio',
  'audio/x-flac': 'audio',
  'audio/aac': 'audio',
  'audio/mp4': 'audio',
  'audio/x-m4a': 'audio',
  'audio/webm': 'audio',
};

/** How much of a file without magic bytes is read to decide whether it is plain text. */
export const TEXT_SAMPLE_BYTES = 65536;
/** Markup a browser would render or run, anywhere in the sample, whatever the file claims. */
const MARKUP = /<\s*(!doctype|html|head|body|script|svg|iframe|object|embed|\?xml|meta|style|img|a\s)/i;
const TEXT_EXTENSIONS = new Set(['txt', 'md', 'csv', 'tsv', 'log']);

/** UTF-8 (a sequence cut by the sample's end allowed) with no control characters but tab, line feed, carriage return and form feed. */
export function isPlainText(sample: Buffer, complete: boolean): boolean {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: !complete });
  } catch {
    return false;
  }
  // eslint-disable-next-line no-control-regex
  return !/[\x00-\x08\x0b\x0e-\x1f\x7f]/.test(text) && !MARKUP.test(text);
}

/** What the file is, by its content alone, or undefined when it is not of an allowed kind. */
export async function detectFileType(filePath: string, size: number): Promise<DetectedType | undefined> {
  const found = await fileTypeFromFile(filePath);
  if (found?.mime === 'video/webm' && (await isAudioOnlyWebm(filePath, size))) {
    return { type: 'audio/webm', ext: 'webm', kind: 'audio' };
  }
  if (found?.mime === 'video/mp4' && (await isAudioOnlyMp4(filePath, size))) {
    return { type: 'audio/mp4', ext: 'm4a', kind: 'audio' };
  }
  if (found) {
    const kind = ALLOWED[found.mime];
    return kind ? { type: found.mime, ext: found.ext, kind } : undefined;
  }
  const handle = await open(filePath);
  try {
    const sample = Buffer.alloc(Math.min(size, TEXT_SAMPLE_BYTES));
    await handle.read(sample, 0, sample.length, 0);
    if (size === 0 || !isPlainText(sample, size <= TEXT_SAMPLE_BYTES)) return undefined;
  } finally {
    await handle.close();
  }
  return { type: 'text/plain', ext: 'txt', kind: 'text' };
}

/** A WebM whose Tracks, in its first 64 KiB, are all audio (a browser's voice recording). */
async function isAudioOnlyWebm(filePath: string, size: number): Promise<boolean> {
  const handle = await open(filePath);
  try {
    const sample = Buffer.alloc(Math.min(size, TEXT_SAMPLE_BYTES));
    await handle.read(sample, 0, sample.length, 0);
    const types = webmTrackTypes(sample);
    return types !== undefined && types.length > 0 && types.every((type) => type === AUDIO_TRACK);
  } finally {
    await handle.close();
  }
}

const AUDIO_TRACK = 2;

/** The largest `moov` box read, and the most top-level boxes looked through to find it. */
const MAX_MOOV_BYTES = 4 * 1024 * 1024;
const MAX_TOP_LEVEL_BOXES = 1000;

/**
 * An MP4 whose tracks are all sound (Safari's voice recording): its `moov` box, wherever it is among the
 * top-level boxes (a recording may put it first or last), declares only `soun` handlers.
 */
async function isAudioOnlyMp4(filePath: string, size: number): Promise<boolean> {
  const handle = await open(filePath);
  try {
    let at = 0;
    for (let seen = 0; at < size && seen < MAX_TOP_LEVEL_BOXES; seen += 1) {
      const header = Buffer.alloc(Math.min(16, size - at));
      await handle.read(header, 0, header.length, at);
      const box = boxAt(header, at, size);
      if (!box) return false;
      if (box.type === 'moov') {
        if (box.end - box.start > MAX_MOOV_BYTES) return false;
        const moov = Buffer.alloc(box.end - box.start);
        await handle.read(moov, 0, moov.length, box.start);
        const handlers = mp4TrackHandlers(moov);
        return handlers !== undefined && handlers.length > 0 && handlers.every((h) => h === 'soun');
      }
      at = box.end;
    }
    return false;
  } finally {
    await handle.close();
  }
}

/** Whether a name's own extension may stay on a file of this type (any text-like one for text). */
export function keepsExtension(detected: DetectedType, ext: string): boolean {
  return detected.kind === 'text' ? TEXT_EXTENSIONS.has(ext) : ext === detected.ext;
}
