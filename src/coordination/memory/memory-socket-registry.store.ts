import { SocketRegistryStore, UserSocket } from '../socket-registry.store';

export class MemorySocketRegistryStore extends SocketRegistryStore {
  // Per user, socket id → deadline; a Map iterates in insertion order, which is connection order.
  private readonly users = new Map<string, Map<string, number>>();

  add({ userId, socketId }: UserSocket, limit: number, ttlMs: number): Promise<string[]> {
    const sockets = this.live(userId);
    sockets.delete(socketId);
    const evicted = [...sockets.keys()].slice(0, Math.max(0, sockets.size - (limit - 1)));
    evicted.forEach((id) => sockets.delete(id));
    sockets.set(socketId, Date.now() + ttlMs);
    this.users.set(userId, sockets);
    return Promise.resolve(evicted);
  }

  renew(sockets: UserSocket[], ttlMs: number): Promise<void> {
    for (const { userId, socketId } of sockets) {
      const held = this.users.get(userId);
      if (held?.has(socketId)) held.set(socketId, Date.now() + ttlMs);
    }
    return Promise.resolve();
  }

  remove({ userId, socketId }: UserSocket): Promise<void> {
    const held = this.users.get(userId);
    held?.delete(socketId);
    if (held?.size === 0) this.users.delete(userId);
    return Promise.resolve();
  }

  list(userId: string): Promise<string[]> {
    return Promise.resolve([...this.live(userId).keys()]);
  }

  private live(userId: string): Map<string, number> {
    const now = Date.now();
    const held = this.users.get(userId) ?? new Map<string, number>();
    for (const [id, deadline] of held) if (deadline <= now) held.delete(id);
    return held;
  }
}
