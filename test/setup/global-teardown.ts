import { rm } from 'node:fs/promises';
import { postgresAt } from '../../src/database/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const servers = globalThis.chatboxTestServers;
  const stopDatabase = async () => {
    // FerretDB stops before the PostgreSQL under it.
    await servers?.database?.stop();
    const given = servers?.givenPostgresDatabase;
    if (given) await postgresAt(given.url).dropDatabase(given.name);
    if (servers?.dataDir) await rm(servers.dataDir, { recursive: true, force: true });
  };
  await Promise.all([stopDatabase(), servers?.memoryServer?.stop(), servers?.redis?.stop()]);
}
