import { ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream, existsSync, promises as fs } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
export const FERRETDB_VERSION = 'v1.24.2';

export interface EmbeddedMongo {
  readonly uri: string;
  readonly port: number;
  /** Graceful: FerretDB waits for its clients to disconnect (at most 5 s, then it is killed). */
  stop(): Promise<void>;
  /** Abrupt, as when the server crashes. */
  kill(): Promise<void>;
}

export class EmbeddedMongoError extends Error {
  override name = 'EmbeddedMongoError';
}

/**
 * Builds FerretDB (a MongoDB wire-protocol server on SQLite) once into `toolsDir/bin`.
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

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const done = exited(child);
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(timer);
}

async function killStale(pidFile: string): Promise<void> {
  const pid = Number(await fs.readFile(pidFile, 'utf8').catch(() => ''));
  if (!Number.isInteger(pid) || pid <= 0) return;
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (cmdline.includes('ferretdb')) process.kill(pid, 'SIGKILL');
}

export interface StartOptions {
  binary: string;
  dataDir: string;
  port?: number;
  startTimeoutMs?: number;
}

/** Starts FerretDB on loopback with its SQLite files under `dataDir`, which survive a restart. */
export async function startFerretDb(options: StartOptions): Promise<EmbeddedMongo> {
  const sqliteDir = path.join(options.dataDir, 'sqlite');
  const stateDir = path.join(options.dataDir, 'state');
  await fs.mkdir(sqliteDir, { recursive: true });
  await fs.mkdir(stateDir, { recursive: true });
  const pidFile = path.join(options.dataDir, 'ferretdb.pid');
  await killStale(pidFile);

  const port = options.port ?? (await freePort());
  const log = createWriteStream(path.join(options.dataDir, 'ferretdb.log'), { flags: 'a' });
  const child = spawn(
    options.binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${sqliteDir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      '--debug-addr=-',
      `--state-dir=${stateDir}`,
      '--telemetry=disable',
      '--log-level=info',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const listeningLine = `Listening on TCP 127.0.0.1:${port}`;
  // Resolves once this very process reports the port bound; a TCP probe could reach another server.
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new EmbeddedMongoError(`FerretDB did not start on port ${port} in time:\n${output}`)),
      options.startTimeoutMs ?? 20000,
    );
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-4000);
        log.write(chunk);
        if (output.includes(listeningLine)) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new EmbeddedMongoError(`FerretDB did not start on port ${port} (exit code ${code}):\n${output}`));
    });
  });
  await fs.writeFile(pidFile, String(child.pid));
  try {
    await listening;
  } catch (error) {
    await stopChild(child);
    log.end();
    throw error;
  }

  return {
    uri: `mongodb://127.0.0.1:${port}/chatbox`,
    port,
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
}
