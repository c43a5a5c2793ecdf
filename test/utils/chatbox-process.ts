import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../setup/test-env';
import { waitFor } from './wait-for';

/** The built service (`dist/main.js`, from `npm run build`) running as a real child process. */
export class ChatboxProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  /** `logFile`, when given, gets both outputs as they come: read even if the test is killed. */
  constructor(
    readonly env: Record<string, string>,
    { logFile }: { logFile?: string } = {},
  ) {
    this.child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'main.js')], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    if (logFile) {
      const log = createWriteStream(logFile);
      this.child.stdout?.pipe(log, { end: false });
      this.child.stderr?.pipe(log, { end: false });
      this.child.once('close', () => log.end());
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the base URL once the process logs that it listens. */
  async listening(timeoutMs = 60000): Promise<string> {
    return waitFor(
      () => {
        if (this.child.exitCode !== null) throw new Error(`exited with ${this.child.exitCode}: ${this.stderr}`);
        return /listening on (http:\/\/[\d.]+:\d+)/.exec(this.stdout)?.[1];
      },
      { timeoutMs, what: 'the service to listen' },
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
