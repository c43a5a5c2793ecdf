import { Injectable } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import { ServerToClientEvents } from './client-events';

export const sessionRoom = (sessionId: string) => `session:${sessionId}`;
export const userRoom = (userId: string) => `user:${userId}`;

/**
 * Emits to rooms, never to socket objects, so the Redis adapter delivers on every replica.
 * The gateway attaches its namespace at init; services depend on this, not on the gateway.
 */
@Injectable()
export class RoomBroadcaster {
  private namespace?: Namespace;

  attach(namespace: Namespace): void {
    this.namespace = namespace;
  }

  toSession<E extends keyof ServerToClientEvents>(
    sessionId: string,
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void {
    this.namespace?.to(sessionRoom(sessionId)).emit(event, ...args);
  }

  /** To a session's room and all its user's devices, each socket once: what a device not yet in the room must see. */
  toSessionAndUser<E extends keyof ServerToClientEvents>(
    sessionId: string,
    userId: string,
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void {
    this.namespace?.to([sessionRoom(sessionId), userRoom(userId)]).emit(event, ...args);
  }

  /** How many sockets are in a session's room, on every replica. */
  async devicesInSession(sessionId: string): Promise<number> {
    return (await this.namespace?.in(sessionRoom(sessionId)).fetchSockets())?.length ?? 0;
  }

  /** To this replica's sockets only (a replica announcing its own shutdown). */
  toLocal<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): void {
    this.namespace?.local.emit(event, ...args);
  }

  toUser<E extends keyof ServerToClientEvents>(
    userId: string,
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void {
    this.namespace?.to(userRoom(userId)).emit(event, ...args);
  }
}
