import type { LoadClientApi } from './load/load-client';
import type { Target } from './load/chat-connection';
import { CpuMeter } from './lib/cpu-meter';
import { rssBytes } from './lib/proc-stat';
import { waitFor } from './lib/wait';
import { Plan } from './plan';
import { ChatboxReplica, ChatboxSecrets } from './processes/chatbox';
import { DatabaseHandle } from './processes/database';
import { fork, Forked } from './processes/forked';
import { RedisHandle } from './processes/redis';
import type { BaselineApi } from './servers/baseline-server';
import type { UpstreamApi } from './servers/paced-upstream';

export type Kind = 'baseline' | 'chatbox';
export const KINDS: Kind[] = ['baseline', 'chatbox'];

/** What every server a figure measures offers, whichever kind it is. */
interface ServerBase {
  kind: Kind;
  target: Target;
  /** The Node.js process that holds the connections. */
  pid: number;
  /** Every server-side process whose CPU counts, by role (Chatbox: itself, its database, Redis). */
  cpuGroups(): Record<string, number[]>;
  connections(): Promise<number>;
  stop(): Promise<void>;
}

export interface ChatboxUnderTest extends ServerBase {
  kind: 'chatbox';
  replica: ChatboxReplica;
  /** Its database's name, for a second replica of the same service. */
  database: string;
}

export interface BaselineUnderTest extends ServerBase {
  kind: 'baseline';
  rpc: Forked<BaselineApi>['rpc'];
}

export type ServerUnderTest = BaselineUnderTest | ChatboxUnderTest;

export class BenchContext {
  private instances = 0;

  constructor(
    readonly plan: Plan,
    readonly epochMs: number,
    readonly logDir: string,
    readonly meter: CpuMeter,
    readonly redis: RedisHandle,
    readonly database: DatabaseHandle,
    readonly upstream: Forked<UpstreamApi>,
    readonly upstreamUrl: string,
    readonly secrets: ChatboxSecrets,
    readonly cpuProfileDir?: string,
  ) {}

  private get childEnv(): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH, HOME: process.env.HOME, BENCH_EPOCH_MS: String(this.epochMs) };
  }

  startLoadClient(name: string): Promise<Forked<LoadClientApi>> {
    return fork<LoadClientApi>(name, 'load/load-client', { logDir: this.logDir, env: this.childEnv });
  }

  async startBaseline(name: string, options: { redis?: boolean } = {}): Promise<BaselineUnderTest> {
    const env = {
      ...this.childEnv,
      UPSTREAM_URL: this.upstreamUrl,
      ...(options.redis ? { REDIS_URL: this.redis.url } : {}),
    };
    const child = await fork<BaselineApi>(name, 'servers/baseline-server', { logDir: this.logDir, env });
    const pid = child.process.pid;
    return {
      kind: 'baseline',
      rpc: child.rpc,
      pid,
      target: { url: await child.rpc.call('url'), secret: this.secrets.jwtSecret },
      cpuGroups: () => ({ server: [pid] }),
      connections: () => child.rpc.call('connections'),
      stop: () => child.process.stop(),
    };
  }

  /**
   * A Chatbox replica. Each call gets a database of its own and, when Redis is the benchmark's, an
   * empty Redis, unless it joins `replicaOf`'s database and Redis (replicas of one service).
   */
  async startChatbox(name: string, replicaOf?: ChatboxUnderTest): Promise<ChatboxUnderTest> {
    const database = replicaOf?.database ?? `bench_${++this.instances}`;
    if (!replicaOf) await this.redis.reset();
    const replica = await ChatboxReplica.start({
      name,
      logDir: this.logDir,
      mongoUri: this.database.uriFor(database),
      redisUrl: this.redis.url,
      upstreamUrl: this.upstreamUrl,
      secrets: this.secrets,
      cpuProfileDir: this.cpuProfileDir,
    });
    const redisPid = this.redis.pid;
    const server: ChatboxUnderTest = {
      kind: 'chatbox',
      replica,
      database,
      pid: replica.pid,
      target: { url: replica.url, secret: this.secrets.jwtSecret },
      cpuGroups: () => ({
        server: [replica.pid],
        database: this.database.pids(),
        redis: redisPid === undefined ? [] : [redisPid],
      }),
      connections: async () => (await replica.metric('chatbox_websocket_connections')).get('{namespace="chat"}') ?? 0,
      stop: () => replica.stop(),
    };
    return server;
  }

  startServer(kind: Kind, name: string): Promise<ServerUnderTest> {
    return kind === 'chatbox' ? this.startChatbox(name) : this.startBaseline(name);
  }

  /** Waits until a process's CPU use stays under `maxCores` for a measured interval. */
  async settle(pid: number, { maxCores = 0.05, windowMs = 500, timeoutMs = 20000 } = {}): Promise<void> {
    await waitFor(
      async () => {
        const usage = await this.meter.measure({ p: [pid] }, windowMs);
        return usage.cpuSeconds.p / usage.seconds <= maxCores;
      },
      { timeoutMs, intervalMs: 0, what: `process ${pid} to settle` },
    );
  }

  rss(pid: number): number {
    const rss = rssBytes(pid);
    if (rss === undefined) throw new Error(`process ${pid} is gone`);
    return rss;
  }
}
