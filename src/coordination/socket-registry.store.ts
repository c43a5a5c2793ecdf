/** A socket a replica holds, by the user it authenticated as. */
export interface UserSocket {
  userId: string;
  socketId: string;
}

/**
 * Which sockets each user holds across replicas, oldest first. An entry lives for a TTL that the
 * replica holding the socket keeps renewing, so the sockets of a replica that died without cleaning
 * up (SIGKILL, a lost node) stop counting once their entries lapse.
 */
export abstract class SocketRegistryStore {
  /**
   * Registers a socket, then removes the user's oldest sockets beyond `limit` (the new one is the
   * newest) and returns their ids, for the caller to close. Atomic across replicas.
   */
  abstract add(socket: UserSocket, limit: number, ttlMs: number): Promise<string[]>;
  /** Extends the entries of sockets still held; an entry already removed stays removed. */
  abstract renew(sockets: UserSocket[], ttlMs: number): Promise<void>;
  abstract remove(socket: UserSocket): Promise<void>;
  /** The user's registered sockets, oldest first. */
  abstract list(userId: string): Promise<string[]>;
}
