import { createCipheriv } from 'node:crypto';
import { encryptLikeGo, GO_KEY, GO_VECTOR } from '../../../test/fixtures/go-chatbox/go-fixtures';
import { parseGoKey, readGoContent } from './go-content';

describe('readGoContent', () => {
  const key = parseGoKey(GO_KEY);

  it('encrypts in the tests exactly as the Go service does: its known vector, byte for byte', () => {
    expect(encryptLikeGo(GO_VECTOR.plaintext, GO_KEY, Buffer.from(GO_VECTOR.nonce))).toBe(GO_VECTOR.stored);
  });

  it('decrypts the value the Go code wrote', () => {
    expect(readGoContent(GO_VECTOR.stored, key)).toEqual({ ok: true, text: GO_VECTOR.plaintext, wasEncrypted: true });
  });

  it('decrypts an empty message, whose value is only a nonce and a tag', () => {
    expect(readGoContent(encryptLikeGo(''), key)).toEqual({ ok: true, text: '', wasEncrypted: true });
  });

  it.each(['', 'Hello there', 'QUJD', 'été 🎉', 'a'.repeat(38), 'not base64 but long enough to be a ciphertext!!'])(
    'reads a plaintext row (written before encryption was enabled) as it is: %p',
    (text) => {
      expect(readGoContent(text, key)).toEqual({ ok: true, text, wasEncrypted: false });
      expect(readGoContent(text, undefined)).toEqual({ ok: true, text, wasEncrypted: false });
    },
  );

  it('reports a ciphertext that does not decrypt: tampered, or under another key', () => {
    const bytes = Buffer.from(GO_VECTOR.stored, 'base64');
    bytes[20] ^= 1;
    expect(readGoContent(bytes.toString('base64'), key)).toEqual({
      ok: false,
      reason: expect.stringContaining('does not decrypt') as string,
    });
    expect(readGoContent(GO_VECTOR.stored, parseGoKey('v'.repeat(32)))).toMatchObject({ ok: false });
  });

  it('reports a ciphertext when no Go key is given, instead of importing base64', () => {
    expect(readGoContent(GO_VECTOR.stored, undefined)).toEqual({
      ok: false,
      reason: 'content looks encrypted and GO_ENCRYPTION_KEY is not set',
    });
  });

  it('reports a ciphertext whose plaintext is not UTF-8 text', () => {
    const nonce = Buffer.alloc(12, 1);
    const cipher = createCipheriv('aes-256-gcm', key as Buffer, nonce);
    const body = Buffer.concat([cipher.update(Buffer.from([0xff, 0xfe, 0xfd])), cipher.final()]);
    const stored = Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64');
    expect(readGoContent(stored, key)).toEqual({
      ok: false,
      reason: 'content decrypts to bytes that are not UTF-8 text',
    });
  });
});

describe('parseGoKey', () => {
  it('takes the raw bytes of a 32-byte string, as the Go service does, and nothing else', () => {
    expect(parseGoKey(GO_KEY)).toEqual(Buffer.from(GO_KEY));
    expect(parseGoKey('é'.repeat(16))).toHaveLength(32);
    expect(parseGoKey('x'.repeat(31))).toBeUndefined();
    expect(parseGoKey('x'.repeat(33))).toBeUndefined();
  });
});
