import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const started = new Set<ManagedProcess>();

export interface SpawnOptions {
  /** Output goes to `<logDir>/<name>.log`. */
  logDir: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Opens an IPC channel (for children that serve RPC). */
  ipc?: boolean;
}

/** A child process of the benchmark: its output in a log file, stopped by its own pid. */
export class ManagedProcess {
  readonly exited: Promise<void>;
  readonly logFile: string;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    logFile: string,
  ) {
    this.logFile = logFile;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    started.add(this);
    void this.exited.then(() => started.delete(this));
  }

  static spawn(name: string, command: string, args: string[], options: SpawnOptions): ManagedProcess {
    const logFile = path.join(options.logDir, `${name}.log`);
    const log = openSync(logFile, 'a');
    try {
      const child = spawn(command, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', log, log, ...(options.ipc ? (['ipc'] as const) : [])],
      });
      return new ManagedProcess(name, child, logFile);
    } finally {
      closeSync(log);
    }
  }

  /** A Node.js script of the benchmark, on the same Node as everything else. */
  static node(name: string, script: string, args: string[], options: SpawnOptions): ManagedProcess {
    return ManagedProcess.spawn(name, process.execPath, ['--enable-source-maps', script, ...args], options);
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} did not start: ${this.tail()}`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The end of its log, for error messages. */
  tail(chars = 2000): string {
    try {
      return readFileSync(this.logFile, 'utf8').slice(-chars);
    } catch {
      return '';
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Stops every process the benchmark started that still runs. */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((p) => p.stop(3000)));
}
