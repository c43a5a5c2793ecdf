import { createDecipheriv } from 'node:crypto';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Canonical standard base64 (Go's base64.StdEncoding), padded. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type GoContent = { ok: true; text: string; wasEncrypted: boolean } | { ok: false; reason: string };

/** The Go service's ENCRYPTION_KEY: the raw bytes of a 32-byte string (its validateEncryptionKey). */
export function parseGoKey(value: string): Buffer | undefined {
  const key = Buffer.from(value, 'utf8');
  return key.length === 32 ? key : undefined;
}

/**
 * A message's stored content as the Go service wrote it: base64(nonce ‖ ciphertext ‖ tag) of AES-256-GCM
 * when it ran with a key, the text itself when it ran without one. The Go code tells them apart only by
 * trying (a failed decryption shows the stored string). Here a value shaped like its ciphertext (canonical
 * base64 of at least a nonce and a tag) must decrypt, or the message is reported instead of imported as
 * base64 noise; anything else is a plaintext row written before encryption was enabled.
 */
export function readGoContent(stored: string, key: Buffer | undefined): GoContent {
  const bytes = BASE64.test(stored) ? Buffer.from(stored, 'base64') : undefined;
  if (!bytes || bytes.length < NONCE_BYTES + TAG_BYTES) return { ok: true, text: stored, wasEncrypted: false };
  if (!key) return { ok: false, reason: 'content looks encrypted and GO_ENCRYPTION_KEY is not set' };
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_BYTES));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    plain = Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return {
      ok: false,
      reason: 'content looks encrypted but does not decrypt with GO_ENCRYPTION_KEY (corrupt, or another key)',
    };
  }
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(plain), wasEncrypted: true };
  } catch {
    return { ok: false, reason: 'content decrypts to bytes that are not UTF-8 text' };
  }
}
