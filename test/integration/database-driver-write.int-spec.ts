import mongoose from 'mongoose';
import '../../src/database/driver-socket-close';
import { OwnFerretDb, startOwnFerretDb } from '../servers/own-ferretdb';
import { waitFor } from '../utils/wait-for';

/** The driver's view of its one server: its monitor (private to the driver, reached here to break it as a fault does). */
interface MonitorInternals {
  s: { state: string };
  connection: { socket: { destroy(): void } } | null;
  requestCheck(): void;
  monitorId?: { lastExecutionEnded: number };
}

function monitorOf(connection: mongoose.Connection): MonitorInternals {
  const topology = (connection.getClient() as unknown as { topology: { s: { servers: Map<string, unknown> } } })
    .topology;
  const [server] = [...topology.s.servers.values()] as { monitor: MonitorInternals }[];
  return server.monitor;
}

describe('a database connection whose socket is destroyed just before the driver writes to it', () => {
  let db: OwnFerretDb;
  let connection: mongoose.Connection;

  beforeAll(async () => {
    db = await startOwnFerretDb();
    connection = await mongoose.createConnection(db.uri, { serverSelectionTimeoutMS: 2000 }).asPromise();
  });

  afterAll(async () => {
    await connection?.close(true);
    await db?.stop();
  });

  it('fails that write, so the server monitor goes on and the client reaches the restarted server', async () => {
    const notes = connection.collection<{ _id: string }>('notes');
    await notes.insertOne({ _id: 'before' });
    const monitor = monitorOf(connection);
    // Idle, with its connection, and past the minimum interval between checks, so a check runs at once.
    await waitFor(
      () =>
        monitor.s.state === 'idle' &&
        monitor.connection !== null &&
        performance.now() - (monitor.monitorId?.lastExecutionEnded ?? Infinity) > 600,
      { what: 'the monitor to be idle with its connection' },
    );
    // The socket is destroyed (as by a reset from a dying server) and, before its close event, the monitor
    // writes its check to it: the driver waited for a drain that never comes.
    monitor.connection?.socket.destroy();
    monitor.requestCheck();
    // The server restarts under load: commands in flight fail with network errors, which make the server
    // unknown until its monitor checks it again.
    let loading = true;
    const load = Array.from({ length: 10 }, async () => {
      while (loading) await notes.findOne({ _id: 'before' }).catch(() => undefined);
    });
    await db.kill();
    await db.start();
    await waitFor(
      () =>
        notes.findOne({ _id: 'before' }).then(
          (found) => found !== null,
          () => false,
        ),
      { timeoutMs: 20_000, what: 'the client to read from the restarted server' },
    ).finally(() => {
      loading = false;
    });
    await Promise.all(load);
  });
});
