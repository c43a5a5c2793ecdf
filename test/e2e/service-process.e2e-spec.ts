import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { JwtService } from '@nestjs/jwt';
import mongoose from 'mongoose';
import { TEST_ENV } from '../setup/test-env';
import { startRedisServer } from '../servers/redis-server';
import { ChatboxProcess } from '../utils/chatbox-process';
import { ChatClient, signToken } from '../utils/chat-client';
import { testMongoUri } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

const strong = () => randomBytes(32).toString('base64');
const productionEnv = (overrides: Record<string, string> = {}) => ({
  NODE_ENV: 'production',
  HOST: '127.0.0.1',
  PORT: '0',
  MONGODB_URI: testMongoUri(),
  JWT_SECRET: strong(),
  ENCRYPTION_KEY: strong(),
  METRICS_TOKEN: strong(),
  SHUTDOWN_DRAIN_DELAY_MS: '1500',
  SHUTDOWN_TIMEOUT_MS: '10000',
  ...overrides,
});

describe('the service process in production', () => {
  const processes: ChatboxProcess[] = [];
  const run = (env: Record<string, string>) => {
    const p = new ChatboxProcess(env);
    processes.push(p);
    return p;
  };
  afterAll(() => Promise.all(processes.map((p) => p.stop())));

  it('exits non-zero naming JWT_SECRET when it is a placeholder', async () => {
    const p = run(productionEnv({ JWT_SECRET: 'changeme-please-use-a-real-secret-123' }));
    expect(await p.exited).toBe(1);
    expect(p.stderr).toContain('JWT_SECRET contains the placeholder marker');
    expect(p.stdout).not.toContain('listening');
  });

  it('exits non-zero naming REDIS_URL when it has no password and REQUIRE_DATASTORE_AUTH=true', async () => {
    // 0.0.0.0 is this machine, but not by a name the check trusts as loopback.
    const p = run(productionEnv({ REDIS_URL: 'redis://0.0.0.0:6379', REQUIRE_DATASTORE_AUTH: 'true' }));
    expect(await p.exited).toBe(1);
    expect(p.stderr).toContain(
      'REDIS_URL has no password (redis://:password@host), which REQUIRE_DATASTORE_AUTH=true refuses',
    );
    expect(p.stdout).not.toContain('listening');
  });

  it('starts, with a warning naming REDIS_URL, when it has no password and REQUIRE_DATASTORE_AUTH is not set', async () => {
    const redis = await startRedisServer();
    try {
      const p = run(productionEnv({ REDIS_URL: `redis://0.0.0.0:${redis.port}` }));
      const baseUrl = await p.listening();
      expect((await fetch(`${baseUrl}/chatbox/readyz`)).status).toBe(200);
      const warnings = p.stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .filter((line) => line.msg.includes('REDIS_URL'));
      expect(warnings).toEqual([
        expect.objectContaining({
          level: 40,
          msg: 'REDIS_URL has no password (redis://:password@host) (REQUIRE_DATASTORE_AUTH=true would refuse to start)',
        }),
      ]);
      await p.stop();
    } finally {
      await redis.stop();
    }
  });

  it('refuses to start a second replica without REDIS_URL on the same database, until the first has stopped', async () => {
    const shared = { MONGODB_URI: testMongoUri(), SHUTDOWN_DRAIN_DELAY_MS: '0' };
    const first = run(productionEnv(shared));
    await first.listening();

    const second = run(productionEnv(shared));
    expect(await second.exited).toBe(1);
    expect(second.stderr).toContain('runs against this database without REDIS_URL');
    expect(second.stdout).not.toContain('listening');

    // A graceful stop frees the lease at once: the next replica starts.
    first.signal('SIGTERM');
    expect(await first.exited).toBe(0);
    const third = run(productionEnv(shared));
    await third.listening();
    await third.stop();
  });

  it('exits non-zero naming ADMIN_EMAILS when one of its addresses is malformed', async () => {
    const p = run(
      productionEnv({
        SMTP_URL: 'smtps://mail.example.com',
        MAIL_FROM: 'chatbox@example.com',
        ADMIN_EMAILS: 'ann@example.com,not-an-address',
      }),
    );
    expect(await p.exited).toBe(1);
    expect(p.stderr).toContain('ADMIN_EMAILS entry "not-an-address" is not an email address');
    expect(p.stdout).not.toContain('listening');
  });

  it('starts with 32 random bytes as JWT_SECRET, prints no dev tokens, and drains on SIGTERM before exiting 0', async () => {
    const p = run(productionEnv());
    const baseUrl = await p.listening();
    expect((await fetch(`${baseUrl}/chatbox/healthz`)).status).toBe(200);
    expect((await fetch(`${baseUrl}/chatbox/readyz`)).status).toBe(200);
    expect(p.stdout).not.toContain('user token');
    const client = await ChatClient.connect(baseUrl, await signToken(p.env.JWT_SECRET));

    const signalledAt = Date.now();
    p.signal('SIGTERM');
    await client.waitForEvent('server:draining');
    client.close();
    // During the drain the process still answers, but readiness says 503 so traffic moves away.
    await waitFor(async () => (await fetch(`${baseUrl}/chatbox/readyz`)).status === 503, {
      timeoutMs: 1500,
      what: 'readiness 503 during the drain',
    });
    expect((await fetch(`${baseUrl}/chatbox/healthz`)).status).toBe(200);
    expect(await p.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(10000);
  });
});

describe('the service process in development, on embedded defaults', () => {
  const dataDirs: string[] = [];
  afterAll(() => Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('starts its own database on the backend the tests run on, prints working tokens, and keeps data across a restart', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'chatbox-dev-'));
    dataDirs.push(dataDir);
    // Run by root, PostgreSQL runs as the postgres user, which must reach its cluster under DATA_DIR.
    await chmod(dataDir, 0o711);
    const backend = process.env[TEST_ENV.ferretDbBackend];
    // The backend global setup found (or none, when MONGODB_URI is given): no silent fall back to SQLite.
    const env = { NODE_ENV: 'development', PORT: '0', DATA_DIR: dataDir, EMBEDDED_MONGO_BACKEND: backend ?? 'auto' };

    const first = new ChatboxProcess(env);
    let baseUrl: string;
    let uri: string;
    try {
      baseUrl = await first.listening();
      expect((await fetch(`${baseUrl}/chatbox/healthz`)).status).toBe(200);
      expect((await fetch(`${baseUrl}/chatbox/readyz`)).status).toBe(200);
      uri = /embedded MongoDB-compatible server at (\S+)/.exec(first.stdout)?.[1] ?? '';
      expect(first.stdout).toContain(
        backend === 'postgresql'
          ? `FerretDB on PostgreSQL in ${dataDir}`
          : backend
            ? 'FerretDB on SQLite'
            : 'FerretDB on',
      );
      const userToken = /user token: +(\S+)/.exec(first.stdout)?.[1] ?? '';
      const adminToken = /admin token: +(\S+)/.exec(first.stdout)?.[1] ?? '';

      const secrets = JSON.parse(await readFile(path.join(dataDir, 'dev-secrets.json'), 'utf8')) as {
        JWT_SECRET: string;
      };
      const jwt = new JwtService({ secret: secrets.JWT_SECRET });
      expect(jwt.verify(userToken)).toMatchObject({ sub: 'dev-user', roles: [] });
      expect(jwt.verify(adminToken)).toMatchObject({ sub: 'dev-admin', roles: ['admin'] });

      const connection = await mongoose.createConnection(uri).asPromise();
      await connection.collection('survivors').insertOne({ note: 'written before the restart' });
      await connection.close();
    } finally {
      first.signal('SIGTERM');
    }
    expect(await first.exited).toBe(0);

    const second = new ChatboxProcess(env);
    try {
      baseUrl = await second.listening();
      await waitFor(async () => (await fetch(`${baseUrl}/chatbox/readyz`)).status === 200, { what: 'readiness' });
      const newUri = /embedded MongoDB-compatible server at (\S+)/.exec(second.stdout)?.[1] ?? '';
      const connection = await mongoose.createConnection(newUri).asPromise();
      const docs = await connection
        .collection('survivors')
        .find({}, { projection: { _id: 0 } })
        .toArray();
      await connection.close();
      expect(docs).toEqual([{ note: 'written before the restart' }]);
    } finally {
      second.signal('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  });
});
