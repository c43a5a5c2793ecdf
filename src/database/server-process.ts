import { ChildProcess, spawn, SpawnOptions } from 'node:child_process';
import { createWriteStream, promises as fs, WriteStream } from 'node:fs';
import { createServer } from 'node:net';

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

/** Sends `signal`, and SIGKILL if the process is still there after `graceMs`. */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 5000,
): Promise<void> {
  const done = exited(child);
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

export interface ServerProcessOptions {
  command: string;
  args: string[];
  /** The server's output is appended here. */
  logFile: string;
  /** Printed by this very process once it serves; a probe of the port could reach another server. */
  readyLine: string;
  timeoutMs: number;
  /** Gets the process id at once, so a later run can find the server if this one is killed while waiting. */
  pidFile?: string;
  /** Builds the error thrown when the server does not get ready; `output` is its last output. */
  failure: (reason: string, output: string) => Error;
  spawnOptions?: SpawnOptions;
}

export interface ServerProcess {
  child: ChildProcess;
  log: WriteStream;
}

/** Spawns a server and resolves once it prints its ready line; if it exits or times out first, it is stopped. */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(options.command, options.args, { ...options.spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(options.failure('in time', output)), options.timeoutMs);
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-4000);
        log.write(chunk);
        if (output.includes(options.readyLine)) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(options.failure(`(${error.message})`, output));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(options.failure(`(exit code ${code ?? signal})`, output));
    });
  });
  // Handled below; this keeps a failure during the pid file write from counting as unhandled.
  ready.catch(() => undefined);
  try {
    if (options.pidFile && child.pid !== undefined) await fs.writeFile(options.pidFile, String(child.pid));
    await ready;
  } catch (error) {
    // Without a pid the process never started (the command could not be run), so there is nothing to stop.
    if (child.pid !== undefined) await stopChild(child);
    log.end();
    throw error;
  }
  return { child, log };
}
