import * as path from 'node:path';
import type { EmbeddedMongoBackend } from '../config/env.schema';
import { EmbeddedMongo, ensureFerretDb, FerretDbBackend, startFerretDb } from './embedded-mongo';
import { EmbeddedPostgresError, postgresAt, PostgresServer, startPostgres } from './embedded-postgres';

export interface EmbeddedDatabaseOptions {
  toolsDir: string;
  /** FerretDB's files go in `dataDir/mongo`, a private PostgreSQL cluster in `dataDir/postgres`. */
  dataDir: string;
  backend: EmbeddedMongoBackend;
  /** A PostgreSQL database FerretDB may have to itself, instead of a private cluster. */
  postgresUrl?: string;
  /** Where PostgreSQL's programs are; default: found by `findPostgresBinDir`. */
  postgresBinDir?: string;
  /** False for throw-away data (tests): a private cluster then skips fsync. */
  durable?: boolean;
  warn(message: string): void;
}

export interface EmbeddedDatabase {
  readonly uri: string;
  readonly backend: FerretDbBackend;
  /** Where the data is kept, for people. */
  readonly storage: string;
  readonly ferretDb: EmbeddedMongo;
  /** The PostgreSQL that FerretDB stores into, if any. */
  readonly postgres?: PostgresServer;
  stop(): Promise<void>;
}

/**
 * The MongoDB-compatible server the application runs on when MONGODB_URI is unset: FerretDB on
 * PostgreSQL (given, or a private cluster), or on SQLite, whose FerretDB backend reads a whole
 * collection for every query but a lone `_id` lookup and so slows down as data accumulates.
 */
export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const binary = await ensureFerretDb(options.toolsDir);
  let postgres: PostgresServer | undefined;
  let postgresqlUrl: string | undefined;
  let storage = `SQLite in ${path.join(options.dataDir, 'mongo', 'sqlite')}`;
  if (options.backend !== 'sqlite' && options.postgresUrl) {
    postgres = postgresAt(options.postgresUrl);
    postgresqlUrl = options.postgresUrl;
    storage = `PostgreSQL at ${redacted(options.postgresUrl)}`;
  } else if (options.backend !== 'sqlite') {
    const dataDir = path.join(options.dataDir, 'postgres');
    try {
      postgres = await startPostgres({ dataDir, binDir: options.postgresBinDir, durable: options.durable });
      postgresqlUrl = await postgres.database('ferretdb');
      storage = `PostgreSQL in ${dataDir}`;
    } catch (error) {
      await postgres?.stop();
      postgres = undefined;
      const reason = (error as Error).message;
      if (options.backend === 'postgresql') {
        throw new EmbeddedPostgresError(`EMBEDDED_MONGO_BACKEND is postgresql, but ${reason}`, { cause: error });
      }
      options.warn(
        `PostgreSQL cannot be used: ${reason}\nThe embedded database falls back to SQLite, which gets slower as data accumulates ` +
          '(FerretDB reads a whole collection for most queries). Install PostgreSQL if it is missing ' +
          '(apt-get install postgresql) or set EMBEDDED_POSTGRES_URL; EMBEDDED_MONGO_BACKEND=sqlite silences this warning.',
      );
    }
  }

  let mongo: EmbeddedMongo;
  try {
    mongo = await startFerretDb({ binary, dataDir: path.join(options.dataDir, 'mongo'), postgresqlUrl });
  } catch (error) {
    await postgres?.stop();
    throw error;
  }
  return {
    uri: mongo.uri,
    backend: mongo.backend,
    storage,
    ferretDb: mongo,
    postgres,
    stop: async () => {
      await mongo.stop();
      await postgres?.stop();
    },
  };
}

function redacted(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
