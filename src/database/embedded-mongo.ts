import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import mongoose from 'mongoose';
import { freePort, startServerProcess, stopChild } from './server-process';

const run = promisify(execFile);

export const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
export const FERRETDB_VERSION = 'v1.24.2';

export type FerretDbBackend = 'postgresql' | 'sqlite';

export interface EmbeddedMongo {
  readonly uri: string;
  readonly port: number;
  readonly backend: FerretDbBackend;
  readonly pid?: number;
  /** Graceful: FerretDB waits for its clients to disconnect (at most 5 s, then it is killed). */
  stop(): Promise<void>;
  /** Abrupt, as when the server crashes. */
  kill(): Promise<void>;
}

export class EmbeddedMongoError extends Error {
  override name = 'EmbeddedMongoError';
}

/**
 * Builds FerretDB (a MongoDB wire-protocol server on PostgreSQL or SQLite) once into `toolsDir/bin`.
 * `go install` leaves its embedded version file empty and the binary refuses to start, so the
 * module source is copied, given that file, and built.
 */
export async function ensureFerretDb(toolsDir: string): Promise<string> {
  // Absolute: the build below runs in another working directory.
  const binary = path.resolve(toolsDir, 'bin', `ferretdb-${FERRETDB_VERSION}`);
  if (existsSync(binary)) return binary;
  try {
    await run('go', ['version']);
  } catch {
    throw new EmbeddedMongoError(
      'Go is not on PATH: install Go to build the embedded MongoDB-compatible server (FerretDB), or set MONGODB_URI',
    );
  }
  const { stdout } = await run('go', ['mod', 'download', '-json', `${FERRETDB_MODULE}@${FERRETDB_VERSION}`], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const sourceDir = (JSON.parse(stdout) as { Dir: string }).Dir;
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ferretdb-src-'));
  try {
    await fs.cp(sourceDir, work, { recursive: true });
    const versionDir = path.join(work, 'build', 'version');
    await fs.chmod(versionDir, 0o755);
    await fs.writeFile(path.join(versionDir, 'version.txt'), `${FERRETDB_VERSION}\n`);
    await fs.mkdir(path.dirname(binary), { recursive: true });
    const partial = `${binary}.${process.pid}.tmp`;
    await run('go', ['build', '-buildvcs=false', '-o', partial, './cmd/ferretdb'], {
      cwd: work,
      maxBuffer: 16 * 1024 * 1024,
    });
    await fs.rename(partial, binary);
  } finally {
    await fs.chmod(work, 0o755);
    await run('chmod', ['-R', 'u+w', work]);
    await fs.rm(work, { recursive: true, force: true });
  }
  return binary;
}

async function killStale(pidFile: string): Promise<void> {
  const pid = Number(await fs.readFile(pidFile, 'utf8').catch(() => ''));
  if (!Number.isInteger(pid) || pid <= 0) return;
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (cmdline.includes('ferretdb')) process.kill(pid, 'SIGKILL');
}

/**
 * FerretDB v1 answers an update or a findAndModify with one PostgreSQL connection of its pool held (the
 * query's cursor) while it waits for a second (the write): once as many of them arrive at once as the pool has
 * connections, each holds one and waits for another, and the server never answers again (seen after a
 * restart, when every client's queued commands arrive together). Its clients are therefore given fewer
 * connections in all than its pool has: three replicas and a test's own client, MAX_CLIENT_POOL each, stay
 * under POSTGRESQL_POOL. A real MongoDB has no such limit; MONGODB_URI is used as given.
 */
const POSTGRESQL_POOL = 100;
const MAX_CLIENT_POOL = 20;

/**
 * The PostgreSQL URL with FerretDB's pool size and idle time, unless the URL sets them. FerretDB v1 means to
 * close connections idle for a minute but sets that only when the URL already has a value (pgx's default
 * is 30 minutes): without it, a FerretDB that was busy once keeps its connections of the cluster's
 * max_connections.
 */
function withPoolSettings(postgresqlUrl: string): string {
  const url = new URL(postgresqlUrl);
  if (!url.searchParams.has('pool_max_conns')) url.searchParams.set('pool_max_conns', String(POSTGRESQL_POOL));
  if (!url.searchParams.has('pool_max_conn_idle_time')) url.searchParams.set('pool_max_conn_idle_time', '1m');
  return url.toString();
}

export interface StartOptions {
  binary: string;
  /** FerretDB's own files (state, log, pid) and, without `postgresqlUrl`, its SQLite databases. */
  dataDir: string;
  /** A PostgreSQL database for FerretDB's PostgreSQL backend, which this FerretDB alone may use. */
  postgresqlUrl?: string;
  port?: number;
  startTimeoutMs?: number;
}

/**
 * Starts FerretDB on loopback, on PostgreSQL when given a database, else on SQLite files under
 * `dataDir`; either way the data survives a restart.
 */
export async function startFerretDb(options: StartOptions): Promise<EmbeddedMongo> {
  const backend: FerretDbBackend = options.postgresqlUrl ? 'postgresql' : 'sqlite';
  const sqliteDir = path.join(options.dataDir, 'sqlite');
  const stateDir = path.join(options.dataDir, 'state');
  await fs.mkdir(options.postgresqlUrl ? options.dataDir : sqliteDir, { recursive: true });
  await fs.mkdir(stateDir, { recursive: true });
  const pidFile = path.join(options.dataDir, 'ferretdb.pid');
  await killStale(pidFile);

  const port = options.port ?? (await freePort());
  const storage = options.postgresqlUrl
    ? ['--handler=postgresql', `--postgresql-url=${withPoolSettings(options.postgresqlUrl)}`]
    : ['--handler=sqlite', `--sqlite-url=file:${sqliteDir}/`];
  const { child, log } = await startServerProcess({
    command: options.binary,
    args: [
      ...storage,
      `--listen-addr=127.0.0.1:${port}`,
      '--debug-addr=-',
      `--state-dir=${stateDir}`,
      '--telemetry=disable',
      '--log-level=info',
    ],
    logFile: path.join(options.dataDir, 'ferretdb.log'),
    readyLine: `Listening on TCP 127.0.0.1:${port}`,
    timeoutMs: options.startTimeoutMs ?? 20000,
    pidFile,
    failure: (reason, output) => new EmbeddedMongoError(`FerretDB did not start on port ${port} ${reason}:\n${output}`),
  });
  const uri = `mongodb://127.0.0.1:${port}/chatbox?maxPoolSize=${MAX_CLIENT_POOL}`;
  const server: EmbeddedMongo = {
    uri,
    port,
    backend,
    pid: child.pid,
    stop: async () => {
      await stopChild(child);
      log.end();
      await fs.rm(pidFile, { force: true });
    },
    kill: async () => {
      await stopChild(child, 'SIGKILL');
      log.end();
    },
  };
  if (backend === 'postgresql') {
    // FerretDB listens before it connects to PostgreSQL; a ping reaches PostgreSQL, so a wrong URL
    // or an unsupported server setting (FerretDB requires UTF8 and a C or en_US locale) fails here.
    try {
      await ping(uri);
    } catch (error) {
      await server.stop();
      throw new EmbeddedMongoError(`FerretDB cannot use PostgreSQL: ${(error as Error).message}`, { cause: error });
    }
  }
  return server;
}

async function ping(uri: string): Promise<void> {
  const connection = mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5000 });
  try {
    await connection.asPromise();
    await connection.db!.admin().ping();
  } finally {
    await connection.close();
  }
}
