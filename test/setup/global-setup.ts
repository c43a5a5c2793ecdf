import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { EMBEDDED_MONGO_BACKENDS, EmbeddedMongoBackend } from '../../src/config/env.schema';
import { EmbeddedDatabase, startEmbeddedDatabase } from '../../src/database/embedded-database';
import { EmbeddedMongoError } from '../../src/database/embedded-mongo';
import { postgresAt } from '../../src/database/embedded-postgres';
import { RedisServer, startRedisServer } from '../servers/redis-server';
import { TEST_ENV, TOOLS_DIR } from './test-env';

export interface TestServers {
  database?: EmbeddedDatabase;
  /** Removed at the end: FerretDB's files and a private PostgreSQL cluster. */
  dataDir?: string;
  /** Dropped at the end: the database made for the tests on EMBEDDED_POSTGRES_URL's server. */
  givenPostgresDatabase?: { url: string; name: string };
  memoryServer?: { stop(): Promise<unknown> };
  redis?: RedisServer;
}

declare global {
  var chatboxTestServers: TestServers | undefined;
}

function backendChoice(): EmbeddedMongoBackend {
  const choice = process.env.EMBEDDED_MONGO_BACKEND || 'auto';
  if (!(EMBEDDED_MONGO_BACKENDS as readonly string[]).includes(choice)) {
    throw new Error(`EMBEDDED_MONGO_BACKEND must be one of ${EMBEDDED_MONGO_BACKENDS.join(', ')}`);
  }
  return choice as EmbeddedMongoBackend;
}

/** FerretDB on a database of the tests' own in EMBEDDED_POSTGRES_URL's server, so runs never share data. */
async function givenPostgres(servers: TestServers): Promise<string | undefined> {
  const url = process.env.EMBEDDED_POSTGRES_URL;
  if (!url) return undefined;
  const name = `chatbox_test_${randomBytes(6).toString('hex')}`;
  servers.givenPostgresDatabase = { url, name };
  return postgresAt(url).database(name);
}

/**
 * MONGODB_URI when set; else FerretDB as development runs it, on PostgreSQL when it can be started
 * (a throw-away private cluster, or EMBEDDED_POSTGRES_URL) and on SQLite otherwise, with a warning.
 */
async function provideMongo(servers: TestServers): Promise<string> {
  if (process.env.MONGODB_URI) return process.env.MONGODB_URI;
  const backend = backendChoice();
  try {
    servers.dataDir = await mkdtemp(path.join(os.tmpdir(), 'chatbox-test-db-'));
    // Run by root, PostgreSQL runs as the postgres user, which must reach its cluster in here.
    await chmod(servers.dataDir, 0o711);
    servers.database = await startEmbeddedDatabase({
      toolsDir: TOOLS_DIR,
      dataDir: servers.dataDir,
      backend,
      postgresUrl: backend === 'sqlite' ? undefined : await givenPostgres(servers),
      durable: false,
      warn: (message) => process.stderr.write(`\nWARNING: ${message}\n\n`),
    });
    process.env[TEST_ENV.ferretDbBackend] = servers.database.backend;
    if (servers.database.postgres) process.env[TEST_ENV.postgresUrl] = servers.database.postgres.url;
    return servers.database.uri;
  } catch (error) {
    if (!(error instanceof EmbeddedMongoError) || !error.message.startsWith('Go is not on PATH')) throw error;
  }
  // No Go toolchain: mongodb-memory-server, which needs a mongod it can download or MONGOMS_SYSTEM_BINARY.
  try {
    const { MongoMemoryServer } = await import('mongodb-memory-server');
    const server = await MongoMemoryServer.create();
    servers.memoryServer = server;
    return server.getUri();
  } catch (error) {
    throw new Error(
      'No MongoDB-compatible server for the tests: set MONGODB_URI, or install Go so FerretDB can be built ' +
        `(mongodb-memory-server fallback failed: ${(error as Error).message})`,
      { cause: error },
    );
  }
}

export default async function globalSetup(): Promise<void> {
  const servers: TestServers = {};
  globalThis.chatboxTestServers = servers;
  process.env[TEST_ENV.mongoUri] = await provideMongo(servers);
  if (process.env.REDIS_URL) {
    process.env[TEST_ENV.redisUrl] = process.env.REDIS_URL;
  } else {
    servers.redis = await startRedisServer();
    process.env[TEST_ENV.redisUrl] = servers.redis.url;
  }
}
