import * as path from 'node:path';

/** Values global setup hands to every test worker through the environment. */
export const TEST_ENV = {
  mongoUri: 'CHATBOX_TEST_MONGODB_URI',
  redisUrl: 'CHATBOX_TEST_REDIS_URL',
  /** `postgresql` or `sqlite` when the tests run on FerretDB. */
  ferretDbBackend: 'CHATBOX_TEST_FERRETDB_BACKEND',
  /** The PostgreSQL under the tests' FerretDB, where tests that start a FerretDB of their own create its database. */
  postgresUrl: 'CHATBOX_TEST_POSTGRES_URL',
} as const;

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const TOOLS_DIR = path.join(PROJECT_ROOT, '.tools');

export function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest so that global setup runs`);
  return value;
}
