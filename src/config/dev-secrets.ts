import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { GeneratedSecret, randomSecret, SecretGenerator } from './load-config';

/**
 * Development secrets are generated once and kept under the data folder, so tokens and
 * encrypted data stay valid across restarts. The file is readable by its owner only.
 */
export function persistedDevSecrets(dataDir: string): SecretGenerator {
  const file = path.join(dataDir, 'dev-secrets.json');
  const saved: Partial<Record<GeneratedSecret, string>> = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<Record<GeneratedSecret, string>>)
    : {};
  return (name) => {
    const existing = saved[name];
    if (existing) return existing;
    saved[name] = randomSecret(name);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(saved, null, 2), { mode: 0o600 });
    return saved[name];
  };
}
