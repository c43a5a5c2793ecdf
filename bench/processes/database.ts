import * as path from 'node:path';
import type { EmbeddedMongoBackend } from '../../src/config/env.schema';
import type * as EmbeddedDatabaseModule from '../../src/database/embedded-database';
import type * as EmbeddedMongoModule from '../../src/database/embedded-mongo';
import { log } from '../lib/log';
import { PROJECT_ROOT } from './paths';

export interface DatabaseHandle {
  /** What serves the data, for the report. */
  description: string;
  /** A database of its own for one Chatbox instance, so figures do not inherit each other's data. */
  uriFor(name: string): string;
  /** Pids of the server's processes whose CPU counts (FerretDB, and the PostgreSQL cluster it started). */
  pids(): number[];
  stop(): Promise<void>;
}

const BACKENDS: EmbeddedMongoBackend[] = ['auto', 'postgresql', 'sqlite'];

/** `mongodb://host/db?opts` with another database name. */
function withDatabase(uri: string, name: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(uri);
  if (!match) throw new Error(`MONGODB_URI is not a mongodb:// URI: ${uri}`);
  return `${match[1]}/${name}${match[2] ?? ''}`;
}

const distModule = (name: string) => path.join(PROJECT_ROOT, 'dist', 'database', `${name}.js`);

/**
 * The MongoDB-compatible server: MONGODB_URI when given, else the embedded one as Chatbox itself starts
 * it (from dist/, built by `npm run build`): FerretDB on a private PostgreSQL cluster where PostgreSQL is
 * installed, else on SQLite; EMBEDDED_MONGO_BACKEND and EMBEDDED_POSTGRES_URL choose as they do for Chatbox.
 */
export async function startDatabase(dataDir: string): Promise<DatabaseHandle> {
  const given = process.env.MONGODB_URI;
  if (given) {
    return {
      description: `MONGODB_URI (${given.replace(/\/\/[^@/]*@/, '//…@')}; its CPU is not measured)`,
      uriFor: (name) => withDatabase(given, name),
      pids: () => [],
      stop: () => Promise.resolve(),
    };
  }
  const backend = (process.env.EMBEDDED_MONGO_BACKEND || 'auto') as EmbeddedMongoBackend;
  if (!BACKENDS.includes(backend)) throw new Error(`EMBEDDED_MONGO_BACKEND must be one of ${BACKENDS.join(', ')}`);
  const { FERRETDB_VERSION } = (await import(distModule('embedded-mongo'))) as typeof EmbeddedMongoModule;
  const { startEmbeddedDatabase } = (await import(distModule('embedded-database'))) as typeof EmbeddedDatabaseModule;
  const server = await startEmbeddedDatabase({
    toolsDir: path.join(PROJECT_ROOT, '.tools'),
    dataDir,
    backend,
    postgresUrl: process.env.EMBEDDED_POSTGRES_URL || undefined,
    warn: (message) => log('database', message),
  });
  const external = server.backend === 'postgresql' && server.postgres?.pid === undefined;
  const pids = [server.ferretDb.pid, server.postgres?.pid].filter((pid): pid is number => pid !== undefined);
  return {
    description:
      `embedded FerretDB ${FERRETDB_VERSION} on ${server.backend}` +
      (external ? ' (EMBEDDED_POSTGRES_URL: its CPU is not measured)' : ''),
    uriFor: (name) => withDatabase(server.uri, name),
    pids: () => pids,
    stop: () => server.stop(),
  };
}
