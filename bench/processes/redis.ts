import { execFileSync } from 'node:child_process';
import Redis from 'ioredis';
import { waitFor } from '../lib/wait';
import { freePort } from './free-port';
import { ManagedProcess } from './managed-process';

export interface RedisHandle {
  url: string;
  /** The server's pid when the benchmark runs it (REDIS_URL unset). */
  pid?: number;
  /** Empties it between Chatbox instances (own server only: a given REDIS_URL is never flushed). */
  reset(): Promise<void>;
  /** Bytes Redis holds for data (INFO memory `used_memory`). */
  usedMemory(): Promise<number>;
  stop(): Promise<void>;
}

async function usedMemory(url: string): Promise<number> {
  const client = new Redis(url);
  try {
    return Number(/^used_memory:(\d+)/m.exec(await client.info('memory'))?.[1]);
  } finally {
    client.disconnect();
  }
}

async function ping(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function startRedis(logDir: string): Promise<RedisHandle> {
  if (process.env.REDIS_URL) {
    const url = process.env.REDIS_URL;
    if (!(await ping(url))) throw new Error(`REDIS_URL ${url} does not answer PING`);
    return { url, reset: () => Promise.resolve(), usedMemory: () => usedMemory(url), stop: () => Promise.resolve() };
  }
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('redis-server is not on PATH: install it (apt-get install redis-server) or set REDIS_URL');
  }
  const port = await freePort();
  const server = ManagedProcess.spawn(
    'redis',
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
    { logDir },
  );
  const url = `redis://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (!server.running) throw new Error(`redis-server exited: ${server.tail()}`);
      return ping(url);
    },
    { timeoutMs: 10000, what: 'redis-server to answer' },
  );
  return {
    url,
    pid: server.pid,
    reset: async () => {
      const client = new Redis(url);
      await client.flushall();
      client.disconnect();
    },
    usedMemory: () => usedMemory(url),
    stop: () => server.stop(),
  };
}
