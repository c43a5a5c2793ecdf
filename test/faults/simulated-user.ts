import { randomUUID } from 'node:crypto';
import { io, Socket } from 'socket.io-client';

interface Ack<T> {
  ok: boolean;
  data: T;
  error?: { code: string; message: string; retryAfterMs?: number };
}

interface StoredMessage {
  id: string;
  seq: number;
  sender: 'user' | 'ai' | 'admin' | 'system';
  content?: string;
  status?: string;
  replyTo?: string;
}

interface ResumeResult {
  messages: StoredMessage[];
  hasMore: boolean;
}

/** A message this user sent, and what became of it. */
export interface SentMessage {
  clientMessageId: string;
  content: string;
  messageId?: string;
  ackedAt?: number;
  /** A complete reply for it was read (stored). */
  answeredAt?: number;
}

/** What a user saw of the connection: each time it was lost, and how long until it was back. */
export interface Outage {
  lostAt: number;
  backAt?: number;
}

const RETRY_CODES = new Set(['unavailable', 'busy', 'rate_limited', 'internal_error']);
const ANSWER_WAIT_MS = 60_000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One user chatting through the load balancer as the chat page does: messages sent with a clientMessageId
 * and sent again until acknowledged; after every reconnect, the session resumed from the last stored seq;
 * the next message only once the previous one has a stored, complete reply. Everything it saw is kept for
 * the suite to judge.
 */
export class SimulatedUser {
  readonly sent: SentMessage[] = [];
  readonly outages: Outage[] = [];
  /** Terminal events received (`ai:end` or `ai:error`, with when), by reply id. */
  readonly terminals = new Map<string, string[]>();
  /** Why this user stopped chatting before it was told to (a refusal it does not retry), if it did. */
  failure?: string;
  readonly stored = new Map<string, StoredMessage>();
  sessionId?: string;
  /** Every stored message up to this seq has been read by resume: live events may have gaps, this has none. */
  private readSeq = 0;
  private readonly socket: Socket;
  private running = true;
  private abandoned = false;
  private loop?: Promise<void>;

  constructor(
    baseUrl: string,
    readonly userId: string,
    token: () => Promise<string>,
    private readonly paceMs: () => number,
  ) {
    this.socket = io(`${baseUrl}/chat`, {
      path: '/chatbox/socket.io',
      transports: ['websocket'],
      reconnectionDelay: 200,
      reconnectionDelayMax: 2000,
      auth: (cb) => void token().then((t) => cb({ token: t })),
    });
    this.socket.on('disconnect', () => this.outages.push({ lostAt: Date.now() }));
    this.socket.on('connect', () => {
      const open = this.outages.at(-1);
      if (open && open.backAt === undefined) open.backAt = Date.now();
      if (this.sessionId) void this.catchUp().catch(() => undefined);
    });
    this.socket.on('server:draining', () => {
      this.socket.disconnect();
      setTimeout(() => this.socket.connect(), Math.random() * 500);
    });
    this.socket.on('message:new', (m: StoredMessage & { sessionId: string }) => {
      if (m.sessionId === this.sessionId) this.store([m]);
    });
    for (const event of ['ai:end', 'ai:error']) {
      this.socket.on(event, (e: { messageId: string; sessionId: string }) => {
        if (e.sessionId !== this.sessionId) return;
        this.terminals.set(e.messageId, [
          ...(this.terminals.get(e.messageId) ?? []),
          `${event} at ${new Date().toISOString()}`,
        ]);
        void this.catchUp().catch(() => undefined);
      });
    }
  }

  start(): void {
    this.loop = this.run().catch((error: unknown) => {
      this.failure = String(error);
    });
  }

  /** Stops after the message in hand is answered (or its wait runs out). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    // Closing is not an outage.
    this.socket.off('disconnect');
    this.socket.close();
  }

  /** Stops at once, whatever is in hand: for a suite that failed, so nothing of it keeps the process up. */
  abandon(): void {
    this.running = false;
    this.abandoned = true;
    this.socket.off('disconnect');
    this.socket.close();
  }

  private async run(): Promise<void> {
    const { sessionId } = await this.request<{ sessionId: string }>('session:start', {});
    this.sessionId = sessionId;
    for (let n = 1; this.running; n++) {
      const message: SentMessage = { clientMessageId: randomUUID(), content: `${this.userId} message ${n}` };
      this.sent.push(message);
      const ack = await this.request<{ messageId: string }>('message:send', {
        sessionId,
        clientMessageId: message.clientMessageId,
        content: message.content,
      });
      message.messageId = ack.messageId;
      message.ackedAt = Date.now();
      const deadline = Date.now() + ANSWER_WAIT_MS;
      while (!this.abandoned && !this.answered(message) && Date.now() < deadline) {
        await pause(100);
        if (Date.now() - message.ackedAt > 5000) await this.catchUp().catch(() => undefined);
      }
      if (this.answered(message)) message.answeredAt = Date.now();
      if (!this.abandoned) await pause(this.paceMs());
    }
  }

  private answered(message: SentMessage): boolean {
    for (const m of this.stored.values()) {
      if (m.sender === 'ai' && m.replyTo === message.messageId && m.status === 'complete') return true;
    }
    return false;
  }

  /** Reads every stored message after the newest one seen (as the chat page does after a reconnect). */
  private async catchUp(): Promise<void> {
    if (!this.sessionId) return;
    for (;;) {
      const page = await this.request<ResumeResult>('session:resume', {
        sessionId: this.sessionId,
        afterSeq: this.readSeq,
      });
      this.store(page.messages);
      if (page.messages.length > 0) this.readSeq = Math.max(this.readSeq, ...page.messages.map((m) => m.seq));
      if (!page.hasMore || page.messages.length === 0) return;
    }
  }

  private store(messages: StoredMessage[]): void {
    for (const m of messages) this.stored.set(m.id, m);
  }

  /** Sends until answered: a cut connection is waited out, a refusal that may pass is tried again. */
  private async request<T>(event: string, payload: object): Promise<T> {
    for (;;) {
      if (!this.socket.connected) await new Promise<void>((resolve) => this.socket.once('connect', () => resolve()));
      let ack: Ack<T>;
      try {
        ack = (await this.socket.timeout(10_000).emitWithAck(event, payload)) as Ack<T>;
      } catch {
        continue;
      }
      if (ack.ok) return ack.data;
      if (!ack.error || !RETRY_CODES.has(ack.error.code)) {
        throw new Error(`${event} refused: ${ack.error?.code ?? 'unknown'} ${ack.error?.message ?? ''}`);
      }
      await pause(ack.error.retryAfterMs ?? 500);
    }
  }
}
