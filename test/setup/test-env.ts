import * as path from 'node:path';

/** Values global setup hands to every test worker through the environment. */
export const TEST_ENV = {
  mongoUri: 'CHATBOX_TEST_MONGODB_URI',
  redisUrl: 'CHATBOX_TEST_REDIS_URL',
  ferretDb: 'CHATBOX_TEST_FERRETDB_BIN',
} as const;

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const TOOLS_DIR = path.join(PROJECT_ROOT, '.tools');

export function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest so that global setup runs`);
  return value;
}
