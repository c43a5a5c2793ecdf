import { Injectable } from '@nestjs/common';
import type { DefaultEventsMap, Namespace } from 'socket.io';
import { ServerToClientEvents, SessionStreamEvents } from './client-events';

export const sessionRoom = (sessionId: string) => `session:${sessionId}`;
export const userRoom = (userId: string) => `user:${userId}`;

type ChatNamespace = Namespace<DefaultEventsMap, ServerToClientEvents>;
type AdminNamespace = Namespace<DefaultEventsMap, SessionStreamEvents>;

/**
 * The realtime side of both namespaces: emits to rooms, never to socket objects, so the Redis adapter
 * delivers on every replica. What happens in a session reaches its devices on `/chat` and the
 * administrators watching or holding it on `/admin` (each namespace has a room per session). The
 * gateways attach their namespaces at init; services depend on this, not on the gateways.
 */
@Injectable()
export class RoomBroadcaster {
  private chat?: ChatNamespace;
  private admin?: AdminNamespace;

  attach(namespace: Namespace): void {
    this.chat = namespace;
  }

  attachAdmin(namespace: Namespace): void {
    this.admin = namespace;
  }

  /** To the session's devices and to the administrators in it. */
  toSession<E extends keyof SessionStreamEvents>(
    sessionId: string,
    event: E,
    ...args: Parameters<SessionStreamEvents[E]>
  ): void {
    this.chat?.to(sessionRoom(sessionId)).emit(event, ...args);
    this.toAdminsIn(sessionId, event, ...args);
  }

  /**
   * To a session's room and all its user's devices, each socket once (what a device not yet in the room
   * must see), and to the administrators in it.
   */
  toSessionAndUser<E extends keyof SessionStreamEvents>(
    sessionId: string,
    userId: string,
    event: E,
    ...args: Parameters<SessionStreamEvents[E]>
  ): void {
    this.chat?.to([sessionRoom(sessionId), userRoom(userId)]).emit(event, ...args);
    this.toAdminsIn(sessionId, event, ...args);
  }

  /** To the administrators watching or holding the session only (what its own devices told each other). */
  toAdminsIn<E extends keyof SessionStreamEvents>(
    sessionId: string,
    event: E,
    ...args: Parameters<SessionStreamEvents[E]>
  ): void {
    this.admin?.to(sessionRoom(sessionId)).emit(event, ...args);
  }

  /** How many of the user's sockets are in a session's room, on every replica (administrators not counted). */
  async devicesInSession(sessionId: string): Promise<number> {
    return (await this.chat?.in(sessionRoom(sessionId)).fetchSockets())?.length ?? 0;
  }

  /** The administrators watching or holding a session now, on every replica. */
  async adminsInSession(sessionId: string): Promise<string[]> {
    const sockets = (await this.admin?.in(sessionRoom(sessionId)).fetchSockets()) ?? [];
    return sockets.map((socket) => (socket.data as { principal: { userId: string } }).principal.userId);
  }

  /** To this replica's sockets only (a replica announcing its own shutdown). */
  toLocal<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): void {
    this.chat?.local.emit(event, ...args);
  }

  toUser<E extends keyof ServerToClientEvents>(
    userId: string,
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void {
    this.chat?.to(userRoom(userId)).emit(event, ...args);
  }
}
