import { DetectedType, keepsExtension } from './file-type';

const MAX_CHARS = 120;

/**
 * A name safe to show and to put in a header: the last path segment, NFC, without control or bidi
 * characters or those file systems refuse, at most 120 characters, and ending in the extension of
 * the type the content has (a PNG called `x.pdf` is `x.png`).
 */
export function sanitizeFileName(given: string | undefined, detected: DetectedType): string {
  const last = (given ?? '').split(/[/\\]/).pop() ?? '';
  const cleaned = last
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '')
    .replace(/[<>:"|?*]/g, '_')
    .trim()
    .replace(/^[.\s]+|[.\s]+$/g, '');
  const dot = cleaned.lastIndexOf('.');
  const ext = dot > 0 ? cleaned.slice(dot + 1).toLowerCase() : '';
  const keep = dot > 0 && keepsExtension(detected, ext);
  const stem = (dot > 0 ? cleaned.slice(0, dot) : cleaned).trim() || 'file';
  const suffix = `.${keep ? ext : detected.ext}`;
  return [...stem].slice(0, MAX_CHARS - suffix.length).join('') + suffix;
}
