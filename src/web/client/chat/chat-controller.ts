import { api } from '../lib/api';
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
  ModelsEvent,
  ProtocolError,
  ResumeResult,
  SessionView,
  TypingEvent,
} from '../lib/protocol';
import { worthSending } from '../lib/attachments';
import { asProtocolError } from '../lib/ui';
import { TranscriptStore } from '../lib/transcript-store';
import * as T from './transcript';

export type Banner = { kind: 'joined' | 'left'; name: string | null };

export interface ChatState {
  connection: ConnectionState;
  session: SessionView | null;
  transcript: T.Transcript;
  models: ModelsEvent['models'];
  modelId: string | null;
  typing: { name: string | null } | null;
  banner: Banner | null;
  error: ProtocolError | null;
  loadingOlder: boolean;
  /** The first session lookup is done: the page shows the conversation or the empty state. */
  ready: boolean;
}

const SEND_RETRY_CODES = new Set(['unavailable', 'rate_limited', 'busy', 'internal_error']);
/** Tries of a message the server keeps refusing (busy, rate-limited, failing) before the user is told. */
const MAX_SEND_ATTEMPTS = 5;
/** Messages given back whose clientMessageId is kept for sending them again. */
const MAX_GIVEN_BACK = 20;

/**
 * The chat page's logic, apart from its looks: one session at a time, opened (or resumed after a reload
 * or a reconnect) with `session:resume`, kept in a Transcript so each message shows exactly once. Sent
 * messages are retried with the same clientMessageId until acknowledged, so a cut connection neither
 * loses nor doubles them.
 */
export class ChatController extends TranscriptStore<ChatState> {
  private static readonly initial: ChatState = {
    connection: 'connecting',
    session: null,
    transcript: T.emptyTranscript(),
    models: [],
    modelId: null,
    typing: null,
    banner: null,
    error: null,
    loadingOlder: false,
    ready: false,
  };
  private typingTimer?: ReturnType<typeof setTimeout>;
  private typingSent = false;
  /** The first lookup (the address's session, or the user's active one) has succeeded. */
  private opened = false;
  private starting?: Promise<SessionView>;
  /**
   * Messages given back to the user unsent, by text, with the clientMessageId they were tried with: one sent
   * again unchanged keeps it, so if a try was stored after all (its answer lost), the server answers with that
   * copy instead of storing it twice.
   */
  private readonly givenBack = new Map<string, string>();

  constructor(
    private readonly prefix: string,
    private readonly tokens: TokenSource,
    private readonly conn: Connection,
    /** What the address asked for: a session to open, or a new one (`?new=1`, from the sessions page). */
    private readonly opening: { sessionId: string | null; startNew: boolean },
  ) {
    super(ChatController.initial);
    conn.onState((connection, error) => this.set({ connection, ...(error ? { error } : {}) }));
    const socket = conn.socket;
    socket.on('connect', () => void this.onConnect());
    socket.on('models', (event: ModelsEvent) =>
      this.set({ models: event.models, modelId: this.state.modelId ?? event.defaultModelId }),
    );
    socket.on('session:state', (view: SessionView) => this.onSessionState(view));
    socket.on('message:new', (message: MessageView) => this.update((t) => T.mergeMessages(t, [message])));
    socket.on('ai:start', (event: AiStart) => this.update((t) => T.aiStart(t, event)));
    socket.on('ai:delta', (event: AiDelta) => this.update((t) => T.aiDelta(t, event)));
    socket.on('ai:end', (event: AiEnd) => {
      this.update((t) => T.aiFinished(t, event.messageId, true));
      void this.readFrom(event.sessionId, event.seq - 1);
    });
    socket.on('ai:error', (event: AiError) => {
      this.update((t) => T.aiFinished(t, event.messageId, event.seq !== undefined));
      if (event.seq !== undefined) void this.readFrom(event.sessionId, event.seq - 1);
      if (event.error.code !== 'interrupted') this.set({ error: event.error });
    });
    socket.on('typing', (event: TypingEvent) => {
      if (event.sessionId === this.state.session?.id)
        this.set({ typing: event.isTyping ? { name: event.name ?? null } : null });
    });
    socket.on('admin:joined', (event: AdminPresence) =>
      this.set({ banner: { kind: 'joined', name: event.adminName } }),
    );
    socket.on('admin:left', (event: AdminPresence) =>
      this.set({ banner: { kind: 'left', name: event.adminName }, typing: null }),
    );
  }

  start(): Promise<void> {
    return this.conn.start();
  }

  /**
   * Sends a message; resolves true once the server has it, false when it was not sent (the error is shown,
   * and the caller gives the text back to the user).
   */
  async send(content: string, files: readonly FileRef[] = []): Promise<boolean> {
    if (!worthSending(content, files)) return true;
    const text = content.trim();
    const fileIds = files.map((f) => f.id);
    this.setTyping(false);
    // Until the user's active session is known, a new one could end it: look it up first. Both steps wait
    // out a connection that is not up yet, as the message itself does.
    if (!this.opened && !(await this.attempt(() => this.retrying(() => this.openInitial().then(() => true))))) {
      return false;
    }
    // A new chat being started (the button, just pressed) is where the message goes, not the one it ends.
    let session = this.starting ? ((await this.attempt(() => this.starting!)) ?? null) : this.state.session;
    if (!session || session.status === 'ended') {
      const started = await this.attempt(() => this.startForMessage());
      if (!started) return false;
      session = started;
    }
    const given = [text, ...fileIds].join('\n');
    const clientMessageId = this.givenBack.get(given) ?? crypto.randomUUID();
    this.givenBack.delete(given);
    this.update((t) =>
      T.addPending(t, { clientMessageId, content: text, files: files.map((f) => ({ id: f.id, name: f.name })) }),
    );
    const payload = {
      sessionId: session.id,
      clientMessageId,
      content: text,
      ...(fileIds.length > 0 ? { fileIds } : {}),
    };
    for (let attempt = 1; ; attempt += 1) {
      try {
        const ack = await this.conn.request<{ messageId: string; seq: number }>('message:send', payload);
        this.update((t) => T.settlePending(t, clientMessageId, ack.messageId));
        return true;
      } catch (error) {
        const failure = asProtocolError(error);
        // A cut connection is waited out for as long as it takes (the resend is idempotent); a server that
        // keeps refusing is tried a few times, then the user is told. A session left meanwhile is not chased.
        const retry =
          SEND_RETRY_CODES.has(failure.code) &&
          (!this.conn.socket.connected || attempt < MAX_SEND_ATTEMPTS) &&
          this.state.session?.id === payload.sessionId;
        if (!retry) {
          this.update((t) => T.dropPending(t, clientMessageId));
          this.set({ error: failure });
          this.remember(given, clientMessageId);
          return false;
        }
        await this.waitToRetry(failure);
      }
    }
  }

  private remember(text: string, clientMessageId: string): void {
    this.givenBack.set(text, clientMessageId);
    // A handful is all a person gives back and sends again; the oldest go.
    for (const oldest of this.givenBack.keys()) {
      if (this.givenBack.size <= MAX_GIVEN_BACK) break;
      this.givenBack.delete(oldest);
    }
  }

  /** Shows an error of the page's own (an upload, the microphone) as the connection's are shown. */
  showError(error: ProtocolError): void {
    this.set({ error });
  }

  stop(): Promise<unknown> {
    const session = this.state.session;
    return session
      ? this.attempt(() => this.conn.request('message:stop', { sessionId: session.id }))
      : Promise.resolve();
  }

  newChat(): Promise<unknown> {
    return this.attempt(() => this.startSession());
  }

  endChat(): Promise<unknown> {
    const session = this.state.session;
    if (!session) return Promise.resolve();
    return this.attempt(async () =>
      this.set({ session: await this.conn.request<SessionView>('session:end', { sessionId: session.id }) }),
    );
  }

  requestHelp(): Promise<unknown> {
    const session = this.state.session;
    return this.attempt(async () => {
      const view = await this.conn.request<SessionView>('help:request', session ? { sessionId: session.id } : {});
      this.adopt(view);
    });
  }

  cancelHelp(): Promise<unknown> {
    const session = this.state.session;
    if (!session) return Promise.resolve();
    return this.attempt(async () =>
      this.set({ session: await this.conn.request<SessionView>('help:cancel', { sessionId: session.id }) }),
    );
  }

  selectModel(modelId: string): Promise<unknown> {
    this.set({ modelId });
    const session = this.state.session;
    if (!session || session.status === 'ended') return Promise.resolve();
    return this.attempt(async () =>
      this.set({ session: await this.conn.request<SessionView>('model:select', { sessionId: session.id, modelId }) }),
    );
  }

  async loadOlder(): Promise<void> {
    const { session, transcript, loadingOlder } = this.state;
    const before = T.firstSeq(transcript);
    if (!session || loadingOlder || !transcript.hasOlder || before === undefined) return;
    this.set({ loadingOlder: true });
    try {
      const page = await api<{ messages: MessageView[]; hasMore: boolean }>(
        this.prefix,
        this.tokens,
        `/sessions/${session.id}/messages?beforeSeq=${before}&limit=50`,
      );
      this.update((t) => T.prependOlder(t, page.messages, page.hasMore));
    } catch (error) {
      this.set({ error: asProtocolError(error) });
    } finally {
      this.set({ loadingOlder: false });
    }
  }

  /** Tells the others this user is typing, once per burst; stops after 3 s without a key. */
  setTyping(isTyping: boolean): void {
    const session = this.state.session;
    clearTimeout(this.typingTimer);
    if (isTyping) this.typingTimer = setTimeout(() => this.setTyping(false), 3000);
    if (!session || session.status === 'ended' || isTyping === this.typingSent || !this.conn.socket.connected) return;
    this.typingSent = isTyping;
    this.conn.socket.emit('typing', { sessionId: session.id, isTyping }, () => undefined);
  }

  private async onConnect(): Promise<void> {
    try {
      if (!this.opened) await this.openInitial();
      else if (this.state.session) await this.readFrom(this.state.session.id, T.lastSeq(this.state.transcript));
    } catch (error) {
      this.set({ error: asProtocolError(error) });
    } finally {
      this.set({ ready: true });
    }
  }

  /** The session asked for in the address, else the user's active one, else none until the first message. */
  private async openInitial(): Promise<void> {
    if (this.opening.startNew) {
      await this.startSession();
      this.opened = true;
      return;
    }
    const id = this.opening.sessionId ?? (await this.activeSessionId());
    if (id) await this.resume(id);
    this.opened = true;
  }

  /** The user's active session (from any device), if there is one. */
  private async activeSessionId(): Promise<string | null> {
    const page = await api<{ sessions: SessionView[] }>(this.prefix, this.tokens, '/sessions?limit=1');
    return page.sessions[0]?.status === 'active' ? page.sessions[0].id : null;
  }

  /**
   * Starts a session for a message, retried as the message is. After an attempt whose answer was lost (the
   * server may have started the session all the same), the next takes the user's active session if there is
   * one, instead of starting another that would end it.
   */
  private startForMessage(): Promise<SessionView> {
    let answerLost = false;
    return this.retrying(async () => {
      const active = answerLost ? await this.activeSessionId() : null;
      if (active) {
        await this.resume(active);
        const taken = this.state.session;
        if (taken?.id === active && taken.status === 'active') return taken;
      }
      try {
        return await this.startSession();
      } catch (error) {
        // Once an answer was lost, every later try looks first: that session may exist whatever failed since.
        answerLost ||= asProtocolError(error).code === 'unavailable';
        throw error;
      }
    });
  }

  private async resume(sessionId: string): Promise<void> {
    // Frames of its reply may come between the room join and the answer: they are kept for it (early).
    if (this.state.transcript.sessionId !== sessionId) this.set({ transcript: T.emptyTranscript(sessionId) });
    const result = await this.conn.request<ResumeResult>('session:resume', { sessionId });
    // Another session was opened meanwhile (a new chat, another device's): this answer is no longer wanted.
    if (this.state.transcript.sessionId !== sessionId) return;
    this.set({ session: result.session, transcript: T.applyResume(this.state.transcript, result, { newest: true }) });
    this.bannerFrom(result.session);
  }

  /** Reads every stored message after `afterSeq` (a reconnect's catch-up, or a reply that just ended). */
  private async readFrom(sessionId: string, afterSeq: number): Promise<void> {
    let after = afterSeq;
    for (;;) {
      if (sessionId !== this.state.session?.id) return;
      const result = await this.conn.request<ResumeResult>('session:resume', { sessionId, afterSeq: after });
      // The user moved on meanwhile (a new chat): what was read belongs to the session left behind.
      if (sessionId !== this.state.session?.id) return;
      this.set({
        session: result.session,
        transcript: T.applyResume(this.state.transcript, result, { newest: false }),
      });
      if (!result.hasMore || result.messages.length === 0) return;
      after = result.messages[result.messages.length - 1].seq;
    }
  }

  /** Starts a session; a second call while one is starting shares it (two would end the first). */
  private startSession(): Promise<SessionView> {
    this.starting ??= (async () => {
      try {
        const modelId = this.state.modelId;
        const view = await this.conn.request<SessionView>('session:start', modelId ? { modelId } : {});
        this.adopt(view);
        return view;
      } finally {
        this.starting = undefined;
      }
    })();
    return this.starting;
  }

  /** Shows `view`, switching the transcript when it is another session than the one on screen. */
  private adopt(view: SessionView): void {
    // Compared with the transcript's session, not the one shown: a `session:state` of the session being
    // started may already have begun its transcript (and its reply's first frames) before this answer.
    const same = view.id === this.state.transcript.sessionId;
    this.set({
      session: view,
      modelId: view.modelId,
      ...(same ? {} : { transcript: T.emptyTranscript(view.id), banner: null, typing: null }),
    });
  }

  private onSessionState(view: SessionView): void {
    if (view.id === this.state.session?.id) {
      this.set({ session: view });
      return;
    }
    // The user started a session on another device: this one follows it, unless it shows an ended one the
    // user opened to read.
    const reading = this.state.session?.status === 'ended';
    if (view.status === 'active' && !reading) void this.attempt(() => this.resume(view.id));
  }

  private bannerFrom(view: SessionView): void {
    if (view.holder) this.set({ banner: { kind: 'joined', name: view.holder.name } });
  }

  /** Runs `action` again while it fails for want of a connection (as long as that takes) or a busy server. */
  private async retrying<R>(action: () => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await action();
      } catch (error) {
        const failure = asProtocolError(error);
        // Without a connection it waits as long as that takes; a connected server that keeps failing is tried
        // MAX_SEND_ATTEMPTS times.
        const retry =
          SEND_RETRY_CODES.has(failure.code) && (!this.conn.socket.connected || attempt < MAX_SEND_ATTEMPTS);
        if (!retry) throw error;
        await this.waitToRetry(failure);
      }
    }
  }

  private async waitToRetry(error: ProtocolError): Promise<void> {
    const socket = this.conn.socket;
    if (!socket.connected) {
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs ?? 1000));
  }
}
