import { randomUUID } from 'node:crypto';
import { mapLimit } from '../lib/stats';
import { ChatConnection, ErrorTally, Target } from './chat-connection';
import { MeasureWindow } from './window';

export interface AddStreams {
  target: Target;
  count: number;
  userPrefix: string;
  tokensPerSecond: number;
  concurrency: number;
  timeoutMs: number;
}

/** Endless paced streams, one per user and session, added in steps and ended by the upstream. */
export class StreamLoad {
  private readonly connections: ChatConnection[] = [];

  constructor(private readonly window: MeasureWindow) {}

  /** Opens `count` more streams within `timeoutMs`; each counts as started at its first frame. */
  async add(options: AddStreams) {
    const errors = new ErrorTally();
    const started = Date.now();
    const deadline = started + options.timeoutMs;
    const base = this.connections.length;
    const results = await mapLimit(Array.from({ length: options.count }), options.concurrency, async (_, i) => {
      const left = () => {
        const ms = deadline - Date.now();
        if (ms <= 0) throw new Error(`not started within ${options.timeoutMs} ms`);
        return ms;
      };
      try {
        const connection = await ChatConnection.open(options.target, `${options.userPrefix}-${base + i}`, left());
        this.connections.push(connection);
        connection.socket.on('ai:delta', (frame: { text: string }) => this.window.frame(frame.text));
        // These streams are endless: a reply that ends while measured was cut by the server.
        connection.socket.on('ai:end', (event: { finishReason?: string }) =>
          this.window.error(`ai:end ${event.finishReason ?? ''}`),
        );
        connection.socket.on('ai:error', (event: { error?: { code?: string } }) =>
          this.window.error(`ai:error ${event.error?.code ?? ''}`),
        );
        await connection.startSession(left());
        const first = connection.next(['ai:delta'], left());
        const id = randomUUID();
        await connection.send(id, `id=${id} n=inf rate=${options.tokensPerSecond}`, left());
        await first;
        return true;
      } catch (error) {
        errors.add(error);
        return false;
      }
    });
    const ok = results.filter(Boolean).length;
    return { started: ok, failed: options.count - ok, errors: errors.counts, ms: Date.now() - started };
  }

  close(): void {
    for (const connection of this.connections.splice(0)) connection.close();
  }
}
