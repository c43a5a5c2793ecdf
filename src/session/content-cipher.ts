import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { AppError } from '../common/errors/app-error';
import { AppConfig } from '../config/app-config';
import { DECRYPT_FAILURES } from '../metrics/chatbox.metrics';

const VERSION = 'v1';

/**
 * AES-256-GCM for message content and session names at rest. A stored value reads
 * `v1:<keyId>:<base64 iv|ciphertext|tag>`, so older keys in ENCRYPTION_KEYS keep it readable.
 */
@Injectable()
export class ContentCipher {
  constructor(
    private readonly config: AppConfig,
    @InjectMetric(DECRYPT_FAILURES) private readonly failures: Counter<string>,
  ) {}

  encrypt(plaintext: string): string {
    const { activeKeyId, keys } = this.config.encryption;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', keys.get(activeKeyId) as Buffer, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}:${activeKeyId}:${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64')}`;
  }

  /** Never returns ciphertext: a value that cannot be decrypted is an error, counted. */
  decrypt(stored: string): string {
    const [version, keyId, data] = stored.split(':');
    const key = this.config.encryption.keys.get(keyId ?? '');
    try {
      if (version !== VERSION || !key || !data) throw new Error('unknown format or key');
      const bytes = Buffer.from(data, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      this.failures.inc({ key_id: key ? keyId : 'unknown' });
      throw new AppError('internal_error', `Stored content could not be decrypted (key ${keyId ?? '?'})`);
    }
  }
}
