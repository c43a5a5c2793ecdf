import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { mapLimit } from '../lib/stats';
import { ChatConnection, Target } from './chat-connection';
import { MeasureWindow } from './window';

export interface SendLoadOptions {
  target: Target;
  userPrefix: string;
  users: number;
  /** Whether each message gets a streamed reply (Chatbox) or only its ack (the echo baseline). */
  expectReplies: boolean;
  /** At most this many of a user's messages may wait for their reply; beyond it the user waits for one. */
  maxUnanswered: number;
  tokens: number;
}

/** Every user sends the next message as soon as the last one is acknowledged, for as long as it runs. */
export class SendLoad {
  private connections: ChatConnection[] = [];
  private running = false;
  private readonly wakers = new Set<() => void>();

  constructor(private readonly window: MeasureWindow) {}

  async start(options: SendLoadOptions): Promise<{ users: number }> {
    this.connections = await mapLimit(Array.from({ length: options.users }), 50, (_, i) =>
      ChatConnection.open(options.target, `${options.userPrefix}-${i}`),
    );
    await Promise.all(this.connections.map((c) => c.startSession()));
    this.running = true;
    for (const connection of this.connections) void this.loop(connection, options);
    return { users: this.connections.length };
  }

  /**
   * Stops sending and closes the connections. Acks still due are not waited for: the window has
   * closed, and each loop ends by itself at its ack's timeout.
   */
  stop(): void {
    this.running = false;
    for (const wake of this.wakers) wake();
    for (const connection of this.connections.splice(0)) connection.close();
  }

  private async loop(connection: ChatConnection, options: SendLoadOptions): Promise<void> {
    let unanswered = 0;
    let wake: (() => void) | undefined;
    const answered = () => {
      unanswered--;
      this.window.turnEnded();
      wake?.();
    };
    connection.socket.on('ai:end', answered);
    connection.socket.on('ai:error', answered);
    const replyWaited = () =>
      new Promise<void>((resolve) => {
        wake = () => {
          this.wakers.delete(resolve);
          wake = undefined;
          resolve();
        };
        this.wakers.add(resolve);
      });
    while (this.running) {
      if (options.expectReplies && unanswered >= options.maxUnanswered) {
        await replyWaited();
        continue;
      }
      const id = randomUUID();
      const sentAt = performance.now();
      try {
        await connection.send(id, `id=${id} n=${options.tokens} rate=0`, 15000);
        this.window.ack(performance.now() - sentAt);
        if (options.expectReplies) unanswered++;
      } catch (error) {
        this.window.error(error);
        // A refusal (busy, rate limited) is answered by waiting for a reply, not by asking again at once.
        if (options.expectReplies && unanswered > 0) await replyWaited();
      }
    }
  }
}
