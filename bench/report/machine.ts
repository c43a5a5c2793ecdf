import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import { openFileLimit } from '../lib/proc-stat';
import { PROJECT_ROOT } from '../processes/paths';

export interface MachineFacts {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  os: string;
  node: string;
  socketIo: string;
  redis: string;
  database: string;
  commit: string;
  openFileLimit: number;
  loadAverageAtStart: number[];
}

const quietly = (run: () => string, fallback = 'unknown') => {
  try {
    return run().trim();
  } catch {
    return fallback;
  }
};

export function machineFacts(database: string): MachineFacts {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: PROJECT_ROOT }).toString().trim();
  // Results files are written into the tree by the run itself; they do not make the code differ.
  const changed = quietly(() => git('status', '--porcelain', '--', '.', ':!bench-results'), '');
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    kernel: `${os.type()} ${os.release()}`,
    os: quietly(() => /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? ''),
    node: process.version,
    socketIo: quietly(
      () =>
        (JSON.parse(readFileSync(require.resolve('socket.io/package.json'), 'utf8')) as { version: string }).version,
    ),
    redis: process.env.REDIS_URL
      ? 'REDIS_URL (its CPU is not measured)'
      : quietly(() => /v=(\S+)/.exec(execFileSync('redis-server', ['--version']).toString())?.[1] ?? ''),
    database,
    commit: quietly(() => git('rev-parse', '--short', 'HEAD') + (changed ? ' with local changes' : '')),
    openFileLimit: openFileLimit().soft,
    loadAverageAtStart: os.loadavg().map((v) => Number(v.toFixed(2))),
  };
}
