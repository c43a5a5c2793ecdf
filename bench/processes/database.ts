import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as EmbeddedMongoModule from '../../src/database/embedded-mongo';
import { log } from '../lib/log';
import { PROJECT_ROOT } from './paths';

export interface DatabaseHandle {
  /** What serves the data, for the report. */
  description: string;
  /** A database of its own for one Chatbox instance, so figures do not inherit each other's data. */
  uriFor(name: string): string;
  /** Root pids of the server's processes (empty when MONGODB_URI points elsewhere). */
  pids(): number[];
  stop(): Promise<void>;
}

/**
 * The part of dist/database/embedded-database.js the benchmark uses, in builds that have it: the
 * embedded server as Chatbox starts it, FerretDB on PostgreSQL where it can, else on SQLite.
 */
interface EmbeddedDatabaseModule {
  startEmbeddedDatabase(options: {
    toolsDir: string;
    dataDir: string;
    backend: 'auto';
    warn(message: string): void;
  }): Promise<{ uri: string; backend: string; stop(): Promise<void> }>;
}

/** `mongodb://host/db?opts` with another database name. */
function withDatabase(uri: string, name: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(uri);
  if (!match) throw new Error(`MONGODB_URI is not a mongodb:// URI: ${uri}`);
  return `${match[1]}/${name}${match[2] ?? ''}`;
}

/** Pids in the pid files that FerretDB (ferretdb.pid) and PostgreSQL (postmaster.pid) keep under `dir`. */
function serverPids(dir: string): number[] {
  const pids: number[] = [];
  const visit = (folder: string, depth: number) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isFile() && (entry.name === 'ferretdb.pid' || entry.name === 'postmaster.pid')) {
        const pid = Number(readFileSync(full, 'utf8').split('\n', 1)[0]);
        if (pid > 0) pids.push(pid);
      } else if (entry.isDirectory() && depth < 3) visit(full, depth + 1);
    }
  };
  try {
    visit(dir, 0);
  } catch {
    // A file went away while being read: the server is stopping.
  }
  return pids;
}

const distModule = (name: string) => path.join(PROJECT_ROOT, 'dist', 'database', `${name}.js`);

/**
 * The MongoDB-compatible server: MONGODB_URI when given, else the embedded one that Chatbox itself would
 * start (from dist/, built by `npm run build`), with its data under `dataDir`.
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
  const toolsDir = path.join(PROJECT_ROOT, '.tools');
  const mongo = (await import(distModule('embedded-mongo'))) as typeof EmbeddedMongoModule;
  let server: { uri: string; backend: string; stop(): Promise<void> };
  if (existsSync(distModule('embedded-database'))) {
    const embedded = (await import(distModule('embedded-database'))) as EmbeddedDatabaseModule;
    server = await embedded.startEmbeddedDatabase({
      toolsDir,
      dataDir,
      backend: 'auto',
      warn: (message) => log('database', message),
    });
  } else {
    const binary = await mongo.ensureFerretDb(toolsDir);
    server = { ...(await mongo.startFerretDb({ binary, dataDir })), backend: 'sqlite' };
  }
  return {
    description: `embedded FerretDB ${mongo.FERRETDB_VERSION} on ${server.backend}`,
    uriFor: (name) => withDatabase(server.uri, name),
    pids: () => serverPids(dataDir),
    stop: () => server.stop(),
  };
}
