import { mkdtemp } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { EmbeddedMongo, EmbeddedMongoError, ensureFerretDb, startFerretDb } from '../../src/database/embedded-mongo';
import { RedisServer, startRedisServer } from '../servers/redis-server';
import { TEST_ENV, TOOLS_DIR } from './test-env';

export interface TestServers {
  mongo?: EmbeddedMongo;
  memoryServer?: { stop(): Promise<unknown> };
  redis?: RedisServer;
}

declare global {
  var chatboxTestServers: TestServers | undefined;
}

async function provideMongo(servers: TestServers): Promise<string> {
  if (process.env.MONGODB_URI) return process.env.MONGODB_URI;
  try {
    const binary = await ensureFerretDb(TOOLS_DIR);
    process.env[TEST_ENV.ferretDb] = binary;
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'chatbox-test-mongo-'));
    servers.mongo = await startFerretDb({ binary, dataDir });
    return servers.mongo.uri;
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
