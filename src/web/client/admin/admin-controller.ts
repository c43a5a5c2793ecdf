import { api } from '../lib/api';
import { worthSending } from '../lib/attachments';
import { Connection, TokenSource } from '../lib/connection';
import type { ConnectionState } from '../lib/connection';
import type {
  AdminPresence,
  AiDelta,
  AiEnd,
  AiError,
  AiStart,
  FileRef,
  MessageView,
  ProtocolError,
  ResumeResult,
  TypingEvent,
} from '../lib/protocol';
import { TranscriptStore } from '../lib/transcript-store';
import * as T from '../chat/transcript';
import { AdminSessionView, queueOrder } from './admin-queue';

interface WatchResult {
  session: AdminSessionView;
  messages: MessageView[];
  hasMore: boolean;
  inFlight: ResumeResult['inFlight'];
}

export interface AdminState {
  connection: ConnectionState;
  /** The live queue: active sessions by id, each the newest view told (highest `rev`). */
  queue: ReadonlyMap<string, AdminSessionView>;
  selected: AdminSessionView | null;
  transcript: T.Transcript;
  typing: boolean;
  error: ProtocolError | null;
}

/**
 * The admin console's logic: the live queue from `admin:sessions` and `admin:session` (pushed, never
 * polled), one session watched at a time with its transcript (the chat page's reducer), takeover,
 * messages while holding it, hand-back and ending.
 */
export class AdminController extends TranscriptStore<AdminState> {
  private static readonly initial: AdminState = {
    connection: 'connecting',
    queue: new Map(),
    selected: null,
    transcript: T.emptyTranscript(),
    typing: false,
    error: null,
  };

  constructor(
    private readonly prefix: string,
    private readonly tokens: TokenSource,
    private readonly conn: Connection,
    /** This administrator's id (the token's subject): the console writes only in sessions it holds. */
    readonly adminId: () => string | undefined,
  ) {
    super(AdminController.initial);
    conn.onState((connection, error) => this.set({ connection, ...(error ? { error } : {}) }));
    const socket = conn.socket;
    socket.on('connect', () => {
      const selected = this.state.selected;
      if (selected) void this.attempt(() => this.watch(selected.id));
    });
    socket.on('admin:sessions', (event: { sessions: AdminSessionView[] }) => {
      const queue = new Map<string, AdminSessionView>();
      for (const view of event.sessions) queue.set(view.id, newer(this.state.queue.get(view.id), view));
      this.set({ queue });
    });
    socket.on('admin:session', (view: AdminSessionView) => this.upsert(view));
    socket.on('message:new', (message: MessageView) => this.update((t) => T.mergeMessages(t, [message])));
    socket.on('ai:start', (event: AiStart) => this.update((t) => T.aiStart(t, event)));
    socket.on('ai:delta', (event: AiDelta) => this.update((t) => T.aiDelta(t, event)));
    socket.on('ai:end', (event: AiEnd) => {
      this.update((t) => T.aiFinished(t, event.messageId, true));
      void this.refresh(event.sessionId);
    });
    socket.on('ai:error', (event: AiError) => {
      this.update((t) => T.aiFinished(t, event.messageId, event.seq !== undefined));
      if (event.seq !== undefined) void this.refresh(event.sessionId);
    });
    socket.on('typing', (event: TypingEvent) => {
      if (event.sessionId === this.state.selected?.id && event.sender === 'user') this.set({ typing: event.isTyping });
    });
    for (const name of ['admin:joined', 'admin:left']) {
      socket.on(name, (event: AdminPresence) => {
        if (event.sessionId === this.state.selected?.id) void this.refresh(event.sessionId);
      });
    }
  }

  start(): Promise<void> {
    return this.conn.start();
  }

  /** The queue, in the order the console lists it. */
  queue(): AdminSessionView[] {
    return [...this.state.queue.values()].sort(queueOrder);
  }

  holdsSelected(): boolean {
    return this.state.selected?.holder?.id === this.adminId();
  }

  async select(sessionId: string): Promise<void> {
    const previous = this.state.selected;
    if (previous?.id === sessionId) return;
    if (previous) this.conn.socket.emit('admin:unwatch', { sessionId: previous.id }, () => undefined);
    this.set({
      selected: this.state.queue.get(sessionId) ?? null,
      transcript: T.emptyTranscript(sessionId),
      typing: false,
    });
    await this.attempt(() => this.watch(sessionId));
  }

  takeOver(): Promise<unknown> {
    return this.act('admin:join');
  }

  release(): Promise<unknown> {
    return this.act('admin:leave');
  }

  async end(): Promise<void> {
    const selected = this.state.selected;
    if (!selected) return;
    await this.attempt(async () => {
      await api(this.prefix, this.tokens, `/admin/sessions/${selected.id}/end`, { method: 'POST' });
      await this.refresh(selected.id);
    });
  }

  /** Writes in the held session; resolves false when it was not sent (the error is shown). */
  async send(content: string, files: readonly FileRef[] = []): Promise<boolean> {
    const selected = this.state.selected;
    if (!worthSending(content, files)) return true;
    // Nothing to write in: the caller gives the words and files back.
    if (!selected) return false;
    const text = content.trim();
    const clientMessageId = crypto.randomUUID();
    const fileIds = files.map((f) => f.id);
    const ack = await this.attempt(() =>
      this.conn.request<{ messageId: string; seq: number }>('admin:message', {
        sessionId: selected.id,
        clientMessageId,
        content: text,
        ...(fileIds.length > 0 ? { fileIds } : {}),
      }),
    );
    return ack !== undefined;
  }

  /** Shows an error of the page's own (an upload, the microphone). */
  showError(error: ProtocolError): void {
    this.set({ error });
  }

  private async act(event: 'admin:join' | 'admin:leave'): Promise<void> {
    const selected = this.state.selected;
    if (!selected) return;
    await this.attempt(async () => {
      await this.conn.request(event, { sessionId: selected.id });
      await this.refresh(selected.id);
    });
  }

  private async watch(sessionId: string): Promise<void> {
    const result = await this.conn.request<WatchResult>('admin:watch', { sessionId });
    if (this.state.selected && this.state.selected.id !== sessionId) return;
    this.set({
      selected: newer(this.state.selected ?? undefined, result.session),
      transcript: T.applyResume(this.state.transcript, result as unknown as ResumeResult, { newest: true }),
    });
  }

  /** Reads the watched session again: its stored messages (a reply that just ended) and its state. */
  private async refresh(sessionId: string): Promise<void> {
    if (this.state.selected?.id !== sessionId) return;
    const result = await this.conn.request<WatchResult>('admin:watch', { sessionId });
    if (this.state.selected?.id !== sessionId) return;
    this.set({
      selected: newer(this.state.selected, result.session),
      transcript: T.applyResume(this.state.transcript, result as unknown as ResumeResult, { newest: false }),
    });
  }

  private upsert(view: AdminSessionView): void {
    const queue = new Map(this.state.queue);
    const kept = newer(queue.get(view.id), view);
    if (kept.removed) queue.delete(view.id);
    else queue.set(view.id, kept);
    const selected = this.state.selected?.id === view.id ? newer(this.state.selected, view) : this.state.selected;
    this.set({ queue, selected });
  }
}

/** Of two views of one session, the one told later (higher `rev`). */
function newer(current: AdminSessionView | undefined, next: AdminSessionView): AdminSessionView {
  return current && current.rev > next.rev ? current : next;
}
