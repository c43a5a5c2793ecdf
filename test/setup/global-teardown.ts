export default async function globalTeardown(): Promise<void> {
  const servers = globalThis.chatboxTestServers;
  await Promise.all([servers?.mongo?.stop(), servers?.memoryServer?.stop(), servers?.redis?.stop()]);
}
