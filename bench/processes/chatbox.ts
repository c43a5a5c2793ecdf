import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { waitFor } from '../lib/wait';
import { freePort } from './free-port';
import { ManagedProcess } from './managed-process';
import { PROJECT_ROOT } from './paths';

export interface ChatboxSecrets {
  jwtSecret: string;
  encryptionKey: string;
  metricsToken: string;
}

export const randomSecrets = (): ChatboxSecrets => {
  const secret = () => randomBytes(32).toString('base64');
  return { jwtSecret: secret(), encryptionKey: secret(), metricsToken: secret() };
};

export interface ChatboxOptions {
  name: string;
  logDir: string;
  mongoUri: string;
  redisUrl: string;
  upstreamUrl: string;
  secrets: ChatboxSecrets;
  /** Writes a V8 CPU profile into this folder when the process exits. */
  cpuProfileDir?: string;
}

/**
 * Production settings, with the per-user and per-address limits raised so one load client on one
 * address may drive it: everything else (lease, coalescing, timeouts) stays at its default.
 */
function environment(options: ChatboxOptions, port: number): NodeJS.ProcessEnv {
  const { secrets } = options;
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: path.join(options.logDir, `${options.name}-data`),
    LOG_LEVEL: 'warn',
    MONGODB_URI: options.mongoUri,
    REDIS_URL: options.redisUrl,
    JWT_SECRET: secrets.jwtSecret,
    ENCRYPTION_KEY: secrets.encryptionKey,
    METRICS_TOKEN: secrets.metricsToken,
    LLM_MODELS: JSON.stringify([
      {
        id: 'fake',
        name: 'Paced upstream',
        provider: 'openai',
        model: 'm',
        baseUrl: `${options.upstreamUrl}/v1`,
        apiKey: 'k',
      },
    ]),
    RATE_LIMIT_EVENTS: '100000',
    RATE_LIMIT_WINDOW_MS: '1000',
    TURN_QUEUE_LIMIT: '100',
    HANDSHAKE_RATE_LIMIT_PER_MINUTE: '100000',
    PUBLIC_RATE_LIMIT_PER_MINUTE: '100000',
    ADMIN_RATE_LIMIT_PER_MINUTE: '100000',
    // Streams run for as long as a step needs them; the upstream ends them.
    LLM_TURN_TIMEOUT_MS: '3600000',
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    // Each figure starts replicas of its own: a stopping one has nothing worth waiting for.
    SHUTDOWN_TIMEOUT_MS: '2000',
  };
}

/** One Chatbox replica: the built service (`dist/main.js`) as its own process. */
export class ChatboxReplica {
  private constructor(
    readonly process: ManagedProcess,
    readonly url: string,
    private readonly metricsToken: string,
  ) {}

  static async start(options: ChatboxOptions): Promise<ChatboxReplica> {
    const port = await freePort();
    const flags = options.cpuProfileDir
      ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`, `--cpu-prof-name=${options.name}.cpuprofile`]
      : [];
    const child = ManagedProcess.spawn(
      options.name,
      process.execPath,
      [...flags, path.join(PROJECT_ROOT, 'dist', 'main.js')],
      { logDir: options.logDir, cwd: PROJECT_ROOT, env: environment(options, port) },
    );
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        if (!child.running) throw new Error(`Chatbox exited: ${child.tail()}`);
        const res = await fetch(`${url}/chatbox/readyz`).catch(() => undefined);
        return res?.status === 200;
      },
      { timeoutMs: 60000, what: `Chatbox ${options.name} to be ready` },
    );
    return new ChatboxReplica(child, url, options.secrets.metricsToken);
  }

  get pid(): number {
    return this.process.pid;
  }

  /** The Prometheus samples whose name is `name`, by their label set as written. */
  async metric(name: string): Promise<Map<string, number>> {
    const res = await fetch(`${this.url}/metrics`, { headers: { authorization: `Bearer ${this.metricsToken}` } });
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
    const samples = new Map<string, number>();
    for (const line of (await res.text()).split('\n')) {
      const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)/.exec(line);
      if (match?.[1] === name) samples.set(match[2] ?? '', Number(match[3]));
    }
    return samples;
  }

  async metricTotal(name: string): Promise<number> {
    return [...(await this.metric(name)).values()].reduce((a, b) => a + b, 0);
  }

  stop(): Promise<void> {
    return this.process.stop(10000);
  }
}
