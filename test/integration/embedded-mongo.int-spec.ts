import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import mongoose from 'mongoose';
import { ensureFerretDb, FERRETDB_VERSION, startFerretDb } from '../../src/database/embedded-mongo';
import { waitFor } from '../utils/wait-for';

describe('embedded MongoDB-compatible server', () => {
  it('builds FerretDB into an empty tools folder given by a relative path, once', async () => {
    const tools = await mkdtemp(path.join(os.tmpdir(), 'chatbox-tools-'));
    const binary = await ensureFerretDb(path.relative(process.cwd(), tools));
    expect(binary).toBe(path.join(tools, 'bin', `ferretdb-${FERRETDB_VERSION}`));
    const { stdout } = await promisify(execFile)(binary, ['--version']);
    expect(stdout).toContain(`version: ${FERRETDB_VERSION}`);
    expect(await ensureFerretDb(tools)).toBe(binary);
  }, 300000);

  it('keeps written data across a stop and start on the same data folder', async () => {
    const binary = await ensureFerretDb(path.resolve('.tools'));
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'chatbox-embedded-'));
    let server = await startFerretDb({ binary, dataDir });
    let connection = await mongoose.createConnection(server.uri).asPromise();
    await connection.collection('notes').insertOne({ text: 'kept' });
    await connection.close();
    await server.stop();

    server = await startFerretDb({ binary, dataDir });
    try {
      connection = await mongoose.createConnection(server.uri).asPromise();
      const notes = await connection
        .collection('notes')
        .find({}, { projection: { _id: 0 } })
        .toArray();
      await connection.close();
      expect(notes).toEqual([{ text: 'kept' }]);
    } finally {
      await server.stop();
    }
  });

  it('replaces a server left running by a killed previous run of the same data folder', async () => {
    const binary = await ensureFerretDb(path.resolve('.tools'));
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'chatbox-stale-'));
    const stale = await startFerretDb({ binary, dataDir });
    const fresh = await startFerretDb({ binary, dataDir, port: stale.port });
    try {
      const connection = await mongoose.createConnection(fresh.uri).asPromise();
      await waitFor(async () => (await connection.db!.admin().ping()).ok === 1, { what: 'ping' });
      await connection.close();
    } finally {
      await fresh.stop();
    }
  });

  it('fails with the server output when FerretDB cannot start', async () => {
    const binary = await ensureFerretDb(path.resolve('.tools'));
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'chatbox-busy-'));
    const first = await startFerretDb({ binary, dataDir: path.join(dataDir, 'a') });
    try {
      await expect(startFerretDb({ binary, dataDir: path.join(dataDir, 'b'), port: first.port })).rejects.toThrow(
        `FerretDB did not start on port ${first.port}`,
      );
    } finally {
      await first.stop();
    }
  });
});
