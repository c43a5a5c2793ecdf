import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import mongoose from 'mongoose';
import { withTimeout } from '../../src/common/timers/with-timeout';
import { EmbeddedDatabaseOptions, startEmbeddedDatabase } from '../../src/database/embedded-database';
import { startFerretDb, ensureFerretDb } from '../../src/database/embedded-mongo';
import { findPostgresBinDir, startPostgres } from '../../src/database/embedded-postgres';
import { freePort } from '../../src/database/server-process';
import { TOOLS_DIR } from '../setup/test-env';

describe('embedded PostgreSQL under FerretDB', () => {
  const folders: string[] = [];
  afterAll(() => Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true }))));

  const folder = async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'chatbox-embedded-pg-'));
    folders.push(dir);
    // Run by root, PostgreSQL runs as the postgres user, which must reach its cluster in here.
    await chmod(dir, 0o711);
    return dir;
  };
  const options = async (overrides: Partial<EmbeddedDatabaseOptions> = {}) => {
    const warnings: string[] = [];
    const opts: EmbeddedDatabaseOptions = {
      toolsDir: TOOLS_DIR,
      dataDir: await folder(),
      backend: 'auto',
      durable: false,
      warn: (message) => warnings.push(message),
      ...overrides,
    };
    return { opts, warnings };
  };

  /** A check that needs PostgreSQL installed; on a machine without it, starting one must say so instead. */
  const withPostgresInstalled = async (check: () => Promise<void>) => {
    if (await findPostgresBinDir()) return check();
    await expect(startPostgres({ dataDir: await folder() })).rejects.toThrow('PostgreSQL is not installed');
  };

  const notes = async (uri: string, write?: string) => {
    const connection = await mongoose.createConnection(uri).asPromise();
    try {
      if (write) await connection.collection('notes').insertOne({ text: write });
      return await connection
        .collection('notes')
        .find({}, { projection: { _id: 0 } })
        .toArray();
    } finally {
      await connection.close();
    }
  };

  it('keeps data across a stop and start of a private cluster in the data folder', () =>
    withPostgresInstalled(async () => {
      const { opts, warnings } = await options({ backend: 'postgresql' });
      let db = await startEmbeddedDatabase(opts);
      expect(db.backend).toBe('postgresql');
      expect(db.storage).toBe(`PostgreSQL in ${path.join(opts.dataDir, 'postgres')}`);
      await notes(db.uri, 'kept');
      await db.stop();

      db = await startEmbeddedDatabase(opts);
      try {
        expect(await notes(db.uri)).toEqual([{ text: 'kept' }]);
      } finally {
        await db.stop();
      }
      expect(warnings).toEqual([]);
    }));

  it('replaces a PostgreSQL left running by a killed previous run of the same data folder', () =>
    withPostgresInstalled(async () => {
      const dataDir = await folder();
      const stale = await startPostgres({ dataDir, durable: false });
      const fresh = await startPostgres({ dataDir, durable: false });
      try {
        // Gone, or a zombie this process has yet to reap: either way no longer serving the folder.
        expect(await readFile(`/proc/${stale.pid}/cmdline`, 'utf8').catch(() => '')).not.toContain(dataDir);
        const binary = await ensureFerretDb(TOOLS_DIR);
        const ferretDb = await startFerretDb({
          binary,
          dataDir: path.join(dataDir, 'mongo'),
          postgresqlUrl: await fresh.database('served'),
        });
        expect(await notes(ferretDb.uri, 'by the fresh server')).toEqual([{ text: 'by the fresh server' }]);
        await ferretDb.stop();
      } finally {
        await fresh.stop();
      }
    }));

  it(
    'answers four clients sending 50 findAndModify each at once, round after round (FerretDB v1 deadlocks once its pool is full)',
    () =>
      withPostgresInstalled(async () => {
        const server = await startPostgres({ dataDir: await folder(), durable: false });
        const ferretDb = await startFerretDb({
          binary: await ensureFerretDb(TOOLS_DIR),
          dataDir: await folder(),
          postgresqlUrl: await server.database('burst'),
        });
        // Three replicas and a test's own client, each with the pool the server's URI allows.
        const clients = await Promise.all(
          Array.from({ length: 4 }, () => mongoose.createConnection(ferretDb.uri).asPromise()),
        );
        try {
          const counters = (c: mongoose.Connection) => c.collection<{ _id: string; n: number }>('counters');
          await counters(clients[0]).insertMany(Array.from({ length: 40 }, (_, i) => ({ _id: `c${i}`, n: 0 })));
          for (let round = 1; round <= 20; round++) {
            const burst = clients.flatMap((client) =>
              Array.from({ length: 50 }, (_, i) =>
                counters(client).findOneAndUpdate({ _id: `c${i % 40}` }, { $inc: { n: 1 } }),
              ),
            );
            const answered = await withTimeout(
              Promise.all(burst).then(() => 'answered'),
              20_000,
            ).catch((error: Error) => error.message);
            expect({ round, answered }).toEqual({ round, answered: 'answered' });
          }
        } finally {
          await Promise.all(clients.map((client) => client.close()));
          await ferretDb.stop();
          await server.stop();
        }
      }),
    120_000,
  );

  it('uses the PostgreSQL database it is given, as with EMBEDDED_POSTGRES_URL', () =>
    withPostgresInstalled(async () => {
      const server = await startPostgres({ dataDir: await folder(), durable: false });
      try {
        const given = await server.database('given');
        const { opts } = await options({ postgresUrl: given });
        const db = await startEmbeddedDatabase(opts);
        expect([db.backend, db.storage, db.postgres?.url]).toEqual(['postgresql', `PostgreSQL at ${given}`, given]);
        expect(await notes(db.uri, 'given')).toEqual([{ text: 'given' }]);
        await db.stop();
        await server.dropDatabase('given');
      } finally {
        await server.stop();
      }
    }));

  it('fails at start, with the reason, when FerretDB cannot use its PostgreSQL', async () => {
    const { opts } = await options({ postgresUrl: `postgres://chatbox@127.0.0.1:${await freePort()}/nowhere` });
    await expect(startEmbeddedDatabase(opts)).rejects.toThrow(/FerretDB cannot use PostgreSQL: .*connect/);
  });

  it('falls back to SQLite with a warning when PostgreSQL is not installed', async () => {
    const { opts, warnings } = await options({ postgresBinDir: await folder() });
    const db = await startEmbeddedDatabase(opts);
    try {
      expect([db.backend, db.postgres]).toEqual(['sqlite', undefined]);
      expect(await notes(db.uri, 'on SQLite')).toEqual([{ text: 'on SQLite' }]);
    } finally {
      await db.stop();
    }
    expect(warnings).toEqual([
      expect.stringMatching(/^PostgreSQL cannot be used: PostgreSQL is not installed .*falls back to SQLite/s),
    ]);
  });

  it('refuses to start, naming EMBEDDED_MONGO_BACKEND, when PostgreSQL is required but not installed', async () => {
    const { opts } = await options({ backend: 'postgresql', postgresBinDir: await folder() });
    await expect(startEmbeddedDatabase(opts)).rejects.toThrow(
      'EMBEDDED_MONGO_BACKEND is postgresql, but PostgreSQL is not installed',
    );
  });

  it('runs on SQLite without a warning when EMBEDDED_MONGO_BACKEND is sqlite', async () => {
    const { opts, warnings } = await options({ backend: 'sqlite' });
    const db = await startEmbeddedDatabase(opts);
    await db.stop();
    expect([db.backend, db.postgres, warnings]).toEqual(['sqlite', undefined, []]);
  });
});
