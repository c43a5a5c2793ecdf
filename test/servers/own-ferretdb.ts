import { mkdtemp, readFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { EmbeddedMongo, ensureFerretDb, startFerretDb } from '../../src/database/embedded-mongo';
import { TOOLS_DIR } from '../setup/test-env';

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

/** A MongoDB-compatible server of a test's own, which the test may break. */
export async function startOwnFerretDb(): Promise<OwnFerretDb> {
  const binary = await ensureFerretDb(TOOLS_DIR);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'chatbox-own-db-'));
  let server: EmbeddedMongo = await startFerretDb({ binary, dataDir });
  const { port } = server;
  const signal = async (name: NodeJS.Signals) => {
    process.kill(Number(await readFile(path.join(dataDir, 'ferretdb.pid'), 'utf8')), name);
  };
  return {
    uri: server.uri,
    kill: () => server.kill(),
    start: async () => {
      server = await startFerretDb({ binary, dataDir, port });
    },
    signal,
    stop: async () => {
      // A frozen server would not stop before its kill timeout.
      await signal('SIGCONT').catch(() => undefined);
      await server.stop();
    },
  };
}
