import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../../src/database/server-process';
import { waitFor } from '../utils/wait-for';

export interface LoadBalancer {
  url: string;
  stop(): Promise<void>;
}

/**
 * Debian's HAProxy in front of the replicas: round robin, WebSocket upgrades passed through (HTTP mode
 * does so on its own), no stickiness, and readiness checks every 500 ms so a killed or draining replica
 * leaves the rotation within about a second.
 */
export async function startHaproxy(backendPorts: number[], prefix = '/chatbox'): Promise<LoadBalancer> {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
  } catch {
    throw new Error('haproxy is not on PATH: install it (apt-get install haproxy)');
  }
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chatbox-haproxy-'));
  const config = [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout tunnel 1h',
    '  option redispatch',
    '  retries 2',
    `frontend chatbox`,
    `  bind 127.0.0.1:${port}`,
    '  default_backend replicas',
    'backend replicas',
    '  balance roundrobin',
    `  option httpchk GET ${prefix}/readyz`,
    '  default-server inter 500ms fall 2 rise 1',
    ...backendPorts.map((p, i) => `  server r${i} 127.0.0.1:${p} check`),
    '',
  ].join('\n');
  const file = path.join(dir, 'haproxy.cfg');
  await writeFile(file, config);
  const child: ChildProcess = spawn('haproxy', ['-f', file, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}: ${stderr}`);
      try {
        return (await fetch(`${url}${prefix}/healthz`)).status === 200;
      } catch {
        return false;
      }
    },
    { timeoutMs: 20000, what: 'haproxy to route to a replica' },
  );
  return {
    url,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
