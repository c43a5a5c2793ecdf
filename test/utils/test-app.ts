import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { register } from 'prom-client';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/load-config';
import { required, TEST_ENV } from '../setup/test-env';

/** A database of its own for each test file (or each caller), on the shared test server. */
export function testMongoUri(name = `t_${randomBytes(6).toString('hex')}`): string {
  const base = required(TEST_ENV.mongoUri);
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(base);
  if (!match) throw new Error(`unexpected MongoDB URI ${base}`);
  return `${match[1]}/${name}${match[2] ?? ''}`;
}

export const randomKey = () => randomBytes(32).toString('base64');

/** Log lines the app wrote, parsed. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  raw = '';

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    const text = chunk.toString();
    this.raw += text;
    for (const line of text.split('\n').filter(Boolean)) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
}

export interface TestApp {
  app: NestFastifyApplication;
  baseUrl: string;
  logs: LogCapture;
  env: Record<string, string>;
  close(): Promise<void>;
}

export function testEnv(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    MONGODB_URI: testMongoUri(),
    JWT_SECRET: randomKey(),
    ENCRYPTION_KEY: randomKey(),
    METRICS_TOKEN: randomKey(),
    LOG_LEVEL: 'info',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Boots the real application in this process on a random loopback port. */
export async function startTestApp(overrides: Record<string, string | undefined> = {}): Promise<TestApp> {
  const env = testEnv(overrides);
  const config = loadConfig(env);
  // prom-client keeps one global registry; a second app in the same process would re-register.
  register.clear();
  const logs = new LogCapture();
  const app = await createApp(config, { logDestination: logs });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.getHttpServer().address() as { port: number };
  return {
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    logs,
    env,
    close: () => app.close(),
  };
}
