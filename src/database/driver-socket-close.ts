import type { Socket } from 'node:net';
import { mongo } from 'mongoose';
// The driver's connection class: not exported by the package, so reached by its file (mongodb is pinned).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Connection } = require('mongodb/lib/cmap/connection') as {
  Connection: { prototype: DriverConnection & { [PATCHED]?: true } };
};

const PATCHED = Symbol.for('chatbox.driverSocketClose');

interface DriverConnection {
  id: number | '<monitor>';
  address: string;
  socket: Socket;
  onError(error: mongo.MongoNetworkError): void;
  writeCommand: (this: DriverConnection, ...args: unknown[]) => Promise<void>;
}

/**
 * The MongoDB driver (7.8, unchanged in 7.9) writes a command and, when the socket's buffer is full, waits for
 * its `drain` or `error` event. A socket destroyed before its `close` event has been handled (a server that
 * dies resets every connection at once) takes the write, returns false and emits neither: the command never
 * ends. When it is the server monitor's check, the monitor never checks again and the server stays unknown
 * for good, so every later command fails server selection (seen after a database restart in the fault suite).
 * Here a write to a destroyed socket fails at once, and a wait for `drain` also ends when the socket closes,
 * as the network errors the driver handles already.
 */
function failWritesToClosedSockets(): void {
  const prototype = Connection.prototype;
  if (prototype[PATCHED]) return;
  const write = prototype.writeCommand;
  prototype.writeCommand = async function (this: DriverConnection, ...args: unknown[]): Promise<void> {
    const closed = () => new mongo.MongoNetworkError(`connection ${this.id} to ${this.address} closed`);
    if (this.socket.destroyed) {
      const error = closed();
      this.onError(error);
      throw error;
    }
    let onClose: (() => void) | undefined;
    const whenClosed = new Promise<never>((_, reject) => {
      onClose = () => reject(closed());
      this.socket.once('close', onClose);
    });
    try {
      return await Promise.race([write.apply(this, args), whenClosed]);
    } finally {
      if (onClose) this.socket.off('close', onClose);
    }
  };
  prototype[PATCHED] = true;
}

failWritesToClosedSockets();
