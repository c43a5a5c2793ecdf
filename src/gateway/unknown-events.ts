import { MESSAGE_METADATA } from '@nestjs/websockets/constants';
import type { Socket } from 'socket.io';
import { toProtocolError } from '../common/errors/protocol-error';
import { AppError } from '../common/errors/app-error';

/** The events a gateway class subscribes to (its `@SubscribeMessage` names). */
export function subscribedEvents(gateway: abstract new (...args: never[]) => unknown): Set<string> {
  const prototype = gateway.prototype as Record<string, unknown>;
  const names = Object.getOwnPropertyNames(prototype)
    .map((key) => prototype[key])
    .filter((handler) => typeof handler === 'function')
    .map((handler) => Reflect.getMetadata(MESSAGE_METADATA, handler) as unknown)
    .filter((name): name is string => typeof name === 'string');
  return new Set(names);
}

/**
 * An event the namespace does not know (an `admin:*` event sent to `/chat`, a typo) is answered
 * `unknown_event` when it asks for an acknowledgement, and goes no further.
 */
export function rejectUnknownEvents(socket: Socket, known: Set<string>): void {
  socket.use((packet, next) => {
    const [event, ...args] = packet as [unknown, ...unknown[]];
    if (typeof event === 'string' && known.has(event)) return next();
    const ack = args[args.length - 1];
    if (typeof ack === 'function') {
      const error = new AppError('unknown_event', `${String(event).slice(0, 64)} is not an event of this namespace`);
      (ack as (answer: unknown) => void)({ ok: false, error: toProtocolError(error) });
    }
  });
}
