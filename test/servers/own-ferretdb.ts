import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { EmbeddedMongo, ensureFerretDb, startFerretDb } from '../../src/database/embedded-mongo';
import { postgresAt } from '../../src/database/embedded-postgres';
import { TEST_ENV, TOOLS_DIR } from '../setup/test-env';

export interface OwnFerretDb {
  uri: string;
  /** Killed, as a crashed database server. */
  kill(): Promise<void>;
  /** Started again on the same port and data. */
  start(): Promise<void>;
  /** A signal to the server process (SIGSTOP freezes it, SIGCONT lets it go on). */
  signal(name: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A MongoDB-compatible server of a test's own, which the test may break. It runs on the backend the
 * suite runs on: on PostgreSQL, in a database of its own on the suite's server, which goes on serving
 * while this FerretDB is killed or frozen.
 */
export async function startOwnFerretDb(): Promise<OwnFerretDb> {
  const binary = await ensureFerretDb(TOOLS_DIR);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'chatbox-own-db-'));
  const suitePostgres = process.env[TEST_ENV.postgresUrl];
  const postgres = suitePostgres ? postgresAt(suitePostgres) : undefined;
  const database = `own_${randomBytes(6).toString('hex')}`;
  const postgresqlUrl = await postgres?.database(database);
  let server: EmbeddedMongo = await startFerretDb({ binary, dataDir, postgresqlUrl });
  const { port } = server;
  const signal = async (name: NodeJS.Signals) => {
    process.kill(Number(await readFile(path.join(dataDir, 'ferretdb.pid'), 'utf8')), name);
  };
  return {
    uri: server.uri,
    kill: () => server.kill(),
    start: async () => {
      server = await startFerretDb({ binary, dataDir, postgresqlUrl, port });
    },
    signal,
    stop: async () => {
      // A frozen server would not stop before its kill timeout.
      await signal('SIGCONT').catch(() => undefined);
      await server.stop();
      await postgres?.dropDatabase(database);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
