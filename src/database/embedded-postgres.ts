import { execFile } from 'node:child_process';
import { constants, existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { freePort, startServerProcess, stopChild } from './server-process';

const run = promisify(execFile);

/** The private cluster's superuser. The cluster trusts any connection from loopback, as FerretDB does. */
const SUPERUSER = 'chatbox';
const READY_LINE = 'database system is ready to accept connections';
// Messages in English whatever the machine's locale, so the ready line above can be recognised.
const POSTGRES_ENV = { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' };

export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

export interface PostgresServer {
  /** The server's maintenance database; data goes into databases of their own (`database`). */
  readonly url: string;
  /** The postmaster's process id, when this process started the server. */
  readonly pid?: number;
  /** Creates the database unless it exists, and returns its URL. */
  database(name: string): Promise<string>;
  /** Drops the database, closing any connection to it. */
  dropDatabase(name: string): Promise<void>;
  /** Stops the server when this process started it (a fast shutdown: clients are disconnected). */
  stop(): Promise<void>;
}

async function hasServerPrograms(dir: string): Promise<boolean> {
  const programs = ['initdb', 'postgres', 'createdb', 'dropdb'];
  const found = await Promise.all(
    programs.map((name) =>
      fs.access(path.join(dir, name), constants.X_OK).then(
        () => true,
        () => false,
      ),
    ),
  );
  return found.every(Boolean);
}

async function versionedDirs(pattern: RegExp, root: string, bin: (entry: string) => string): Promise<string[]> {
  const entries = await fs.readdir(root).catch(() => [] as string[]);
  return entries
    .filter((entry) => pattern.test(entry))
    .sort((a, b) => Number(/\d+/.exec(b)?.[0]) - Number(/\d+/.exec(a)?.[0]))
    .map((entry) => path.join(root, bin(entry)));
}

/** Folders of PATH holding an initdb, each followed by the folder that initdb really is in (a symlink's target). */
async function pathDirs(searchPath: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const real = await fs.realpath(path.join(dir, 'initdb')).catch(() => undefined);
    if (real) dirs.push(dir, path.dirname(real));
  }
  return dirs;
}

/**
 * Where PostgreSQL's programs are: beside an initdb on PATH (Homebrew, source builds, links to
 * them), else where Debian (/usr/lib/postgresql/<major>/bin) or the PGDG RPMs (/usr/pgsql-<major>/bin)
 * put them, newest first.
 */
export async function findPostgresBinDir(): Promise<string | undefined> {
  const candidates = [
    ...(await pathDirs(process.env.PATH ?? '')),
    ...(await versionedDirs(/^\d+$/, '/usr/lib/postgresql', (major) => path.join(major, 'bin'))),
    ...(await versionedDirs(/^pgsql-\d+$/, '/usr', (dir) => path.join(dir, 'bin'))),
  ];
  for (const dir of candidates) {
    if (await hasServerPrograms(dir)) return dir;
  }
  return undefined;
}

/** PostgreSQL refuses to run as root: then it runs as the `postgres` user its package creates. */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const [uid, gid] = await Promise.all(['-u', '-g'].map((flag) => run('id', [flag, 'postgres'])));
    return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  } catch {
    throw new EmbeddedPostgresError(
      'running as root, and there is no "postgres" user to run PostgreSQL as (the postgresql package creates one)',
    );
  }
}

function withDatabase(url: string, name: string): string {
  const target = new URL(url);
  target.pathname = `/${name}`;
  return target.toString();
}

function databasesOf(url: string, binDir: () => Promise<string>): Omit<PostgresServer, 'url' | 'pid' | 'stop'> {
  const client = async (program: string, args: string[]) => {
    try {
      await run(path.join(await binDir(), program), [`--maintenance-db=${url}`, ...args], { env: POSTGRES_ENV });
    } catch (error) {
      const { stderr } = error as { stderr?: string };
      throw new EmbeddedPostgresError(`${program} ${args.join(' ')} failed: ${stderr?.trim() || String(error)}`, {
        cause: error,
      });
    }
  };
  return {
    database: async (name) => {
      await client('createdb', [name]).catch((error: Error) => {
        if (!/already exists/.test(error.message)) throw error;
      });
      return withDatabase(url, name);
    },
    dropDatabase: (name) => client('dropdb', ['--if-exists', '--force', name]),
  };
}

/** A PostgreSQL server someone else runs (`EMBEDDED_POSTGRES_URL`); creating databases needs its client programs. */
export function postgresAt(url: string): PostgresServer {
  let binDir: Promise<string> | undefined;
  const findClients = async () => {
    const dir = await findPostgresBinDir();
    if (!dir) throw new EmbeddedPostgresError('createdb and dropdb were not found: install the postgresql package');
    return dir;
  };
  return { url, ...databasesOf(url, () => (binDir ??= findClients())), stop: () => Promise.resolve() };
}

/** The pid of a postmaster a killed previous run left serving `clusterDir`, if it still runs. */
async function stalePostmaster(clusterDir: string): Promise<number | undefined> {
  const lockFile = await fs.readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number(lockFile.split('\n', 1)[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  // Only a postgres serving this very folder: the pid may since have gone to another process.
  const cmdline = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  return cmdline.includes(clusterDir) ? pid : undefined;
}

async function gone(pid: number): Promise<boolean> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // A zombie has exited; its parent (long gone, so init) has yet to reap it.
  return stat === '' || /^\d+ \(.*\) Z /.test(stat);
}

async function stopStale(pid: number, deadlineMs: number): Promise<void> {
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + deadlineMs;
  while (!(await gone(pid))) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface StartPostgresOptions {
  /** The cluster is kept in `dataDir/data` and its log in `dataDir/postgres.log`. */
  dataDir: string;
  /** Default: found by `findPostgresBinDir`. */
  binDir?: string;
  /** False for throw-away clusters (tests): no fsync, so a machine crash may lose or corrupt them. */
  durable?: boolean;
}

/**
 * Starts a private PostgreSQL cluster on a loopback port, creating it with initdb on first use.
 * The server is a child of this process (as FerretDB is), so it ends with the process group; a
 * server left running by a killed previous run of the same folder is shut down first.
 */
export async function startPostgres(options: StartPostgresOptions): Promise<PostgresServer> {
  const binDir = options.binDir ?? (await findPostgresBinDir());
  if (!binDir || !(await hasServerPrograms(binDir))) {
    throw new EmbeddedPostgresError(
      `PostgreSQL is not installed (no initdb, postgres, createdb and dropdb ${binDir ? `in ${binDir}` : 'on PATH or under /usr/lib/postgresql'})`,
    );
  }
  const owner = await serverUser();
  const dataDir = path.resolve(options.dataDir);
  const clusterDir = path.join(dataDir, 'data');
  const durable = options.durable ?? true;
  await fs.mkdir(dataDir, { recursive: true });
  if (owner) {
    // The server's user must reach its cluster inside this folder.
    const { mode } = await fs.stat(dataDir);
    await fs.chmod(dataDir, (mode & 0o7777) | 0o001);
  }
  const asOwner = { env: POSTGRES_ENV, ...owner };

  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    // Created aside and renamed, so a run killed half-way leaves no half-made cluster behind.
    const partial = `${clusterDir}.partial`;
    await fs.rm(partial, { recursive: true, force: true });
    await fs.mkdir(partial, { mode: 0o700 });
    if (owner) await fs.chown(partial, owner.uid, owner.gid);
    const initdb = ['-D', partial, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C'];
    try {
      await run(path.join(binDir, 'initdb'), durable ? initdb : [...initdb, '--no-sync'], asOwner);
    } catch (error) {
      const { stderr } = error as { stderr?: string };
      const hint = owner ? ' (it runs as the postgres user, which must be able to reach every folder above it)' : '';
      throw new EmbeddedPostgresError(`initdb failed${hint}: ${stderr?.trim() || String(error)}`, { cause: error });
    }
    await fs.rename(partial, clusterDir);
  }

  const stale = await stalePostmaster(clusterDir);
  if (stale) await stopStale(stale, 30000);

  const port = await freePort();
  const { child, log } = await startServerProcess({
    command: path.join(binDir, 'postgres'),
    args: [
      '-D',
      clusterDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      // TCP on loopback only: no Unix socket in a system folder another cluster may own.
      '-c',
      'unix_socket_directories=',
      // Each FerretDB keeps a pool of up to 100 connections (see embedded-mongo.ts), and tests run several
      // FerretDBs at once (the suite's, and those tests start of their own).
      '-c',
      'max_connections=400',
      ...(durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    logFile: path.join(dataDir, 'postgres.log'),
    readyLine: READY_LINE,
    timeoutMs: 30000,
    failure: (reason, output) =>
      new EmbeddedPostgresError(`PostgreSQL did not start on port ${port} ${reason}:\n${output}`),
    spawnOptions: asOwner,
  });

  const url = `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`;
  return {
    url,
    pid: child.pid,
    ...databasesOf(url, () => Promise.resolve(binDir)),
    stop: async () => {
      // SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for every client to leave.
      await stopChild(child, 'SIGINT', 30000);
      log.end();
    },
  };
}
