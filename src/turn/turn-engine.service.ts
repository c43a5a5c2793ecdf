import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge, Histogram } from 'prom-client';
import { AppError } from '../common/errors/app-error';
import { toProtocolError } from '../common/errors/protocol-error';
import { ProtocolError } from '../common/realtime/client-events';
import { RoomBroadcaster } from '../common/realtime/room-broadcaster';
import { AppConfig } from '../config/app-config';
import { ModelConfig } from '../config/llm-models';
import { FinishedReply, TurnBufferStore } from '../coordination/turn-buffer.store';
import { TurnSignalStore } from '../coordination/turn-signal.store';
import { isTransientDbError, withDbRetry } from '../database/db-retry';
import { withTimeout } from '../common/timers/with-timeout';
import { shutdownStepMs } from '../lifecycle/shutdown-step';
import { LlmService } from '../llm/llm.service';
import { PromptMessage } from '../llm/llm-provider';
import { buildPrompt, estimateTokens, HistoryMessage } from '../llm/prompt-builder';
import { AI_TURNS, FIRST_DELTA, TURN_DURATION, TURNS_IN_FLIGHT } from '../metrics/chatbox.metrics';
import { FileRef, isVoiceNote, MessageView, Transcript } from '../session/session-views';
import {
  PendingMessage,
  SessionRecord,
  SessionService,
  StopReason,
  TurnLease,
  TurnStats,
} from '../session/session.service';
import { attachmentsOf, conversationBefore } from './conversation';
import { DeltaCoalescer } from './delta-coalescer';
import { UploadService } from '../upload/upload.service';

const DELTA_FRAME_MS = 25;
const HISTORY_PAGE = 100;
const HISTORY_MAX = 2000;
const RECOVERY_BATCH = 20;
const SETTLE_POLL_MS = 20;
/**
 * A session whose turn could not start for a database failure is kicked again after this long, doubling on
 * each failure in a row up to RETRY_MAX_MS: its message is answered once the database is back, not only at
 * the next presence heartbeat (up to a minute) or resume.
 */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;
/** Replies cut by a replica stopping or dying, not by anything about them: their message is answered again. */
const REOPENING_REASONS = new Set(['shutdown', 'replica_lost']);

type AbortReason = StopReason | 'lease_lost' | 'shutdown';

/** A reply still streaming, as `session:resume` shows it. */
export interface InFlightReply {
  messageId: string;
  replyTo: string;
  /** Index of the last frame in `text`; both null when what was said so far cannot be told here. */
  index: number | null;
  text: string | null;
}

/**
 * What a holder knows of its lease: until when it is sure to hold it (its last confirmed renewal, less
 * an allowance for clocks that differ between replicas), and whether it learnt it lost it.
 */
interface Hold {
  until: number;
  lost: boolean;
}

/** A failure with no write behind it: the lease is gone, so nothing more may be written. */
class LeaseLost extends Error {}

/** Runs `task` every `ms`, never two at once. */
function every(ms: number, task: () => Promise<void>): NodeJS.Timeout {
  let running = false;
  return setInterval(() => {
    if (running) return;
    running = true;
    void task().finally(() => (running = false));
  }, ms);
}

const interrupted = (message: string): ProtocolError => toProtocolError(new AppError('interrupted', message));

/**
 * How an AI turn runs, start to end, on whichever replica claims it: the lease (one turn per session,
 * its own document, taken by a unique insert), the prompt (the newest history that fits, in conversation
 * order), the stream (coalesced frames, mirrored so any replica can show the reply in flight), and the
 * settlement (one stored reply per user message and attempt, one terminal event that matches it). A turn
 * stops only when asked to (stop, session end, a change of owner), at its deadline, or when no device has
 * been in the session for TURN_ABANDON_AFTER_MS; a device leaving never stops it. A replica that dies or
 * stalls mid-turn leaves a lease that expires: another replica stores the cut reply as interrupted and
 * answers the message again, and the stalled replica sends nothing more.
 */
@Injectable()
export class TurnEngine implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(TurnEngine.name);
  /** This process, as named in the leases it holds. */
  readonly replica = randomUUID();
  /** Turns streaming here, by turn id: to abort them. The lease document is the truth. */
  private readonly running = new Map<string, AbortController>();
  private readonly drives = new Map<string, Promise<void>>();
  private readonly wanted = new Set<string>();
  private readonly hints = new Map<string, PendingMessage>();
  /** Sessions to be kicked again after a database failure: their timer, and the failures in a row. */
  private readonly retries = new Map<string, { timer?: NodeJS.Timeout; failures: number }>();
  private readonly skewMs: number;
  private recoveryTimer?: NodeJS.Timeout;
  private recovery?: Promise<void>;
  private closing = false;
  /**
   * Aborted when a closing replica stops waiting for its turns: their database retries end there (a command
   * already sent still waits for its answer, until the connection closes).
   */
  private readonly givenUp = new AbortController();

  constructor(
    private readonly config: AppConfig,
    private readonly sessions: SessionService,
    private readonly llm: LlmService,
    private readonly signals: TurnSignalStore,
    private readonly buffer: TurnBufferStore,
    private readonly broadcaster: RoomBroadcaster,
    @InjectMetric(AI_TURNS) private readonly turns: Counter<string>,
    @InjectMetric(TURN_DURATION) private readonly turnDuration: Histogram<string>,
    @InjectMetric(FIRST_DELTA) private readonly firstDelta: Histogram<string>,
    @InjectMetric(TURNS_IN_FLIGHT) private readonly inFlightGauge: Gauge<string>,
    private readonly uploads: UploadService,
  ) {
    // A holder stops trusting its lease this long before it ends, in case the clock of the replica
    // that would take it over runs ahead.
    this.skewMs = Math.min(1000, config.chat.turnLeaseMs / 5);
  }

  async onModuleInit(): Promise<void> {
    // Subscribed before the first turn can run, so no stop request is missed.
    await this.signals.onStop(({ turnId, reason }) => this.abort(turnId, reason as StopReason));
  }

  onApplicationBootstrap(): void {
    this.recoveryTimer = setInterval(
      () => {
        this.recovery ??= this.recoverExpired().finally(() => (this.recovery = undefined));
      },
      Math.max(100, this.config.chat.turnLeaseMs / 2),
    );
  }

  // Runs before Nest closes the socket server: cut replies are saved and their ai:error sent while
  // clients and the adapter are still connected. It waits at most half of the shutdown's time after the drain, so
  // a database that does not answer cannot keep the rest of the shutdown from running: a reply not saved
  // by then keeps its lease, which expires, and another replica stores it as cut.
  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.recoveryTimer);
    for (const { timer } of this.retries.values()) clearTimeout(timer);
    for (const turnId of this.running.keys()) this.abort(turnId, 'shutdown');
    const budgetMs = shutdownStepMs(this.config.shutdown, 1 / 2);
    try {
      await withTimeout(Promise.allSettled([...this.drives.values(), this.recovery]), budgetMs);
    } catch {
      this.logger.warn(
        { sessions: [...this.drives.keys()] },
        `turns not saved within ${budgetMs} ms of the shutdown: left to their leases`,
      );
      this.givenUp.abort();
    }
  }

  /** Database retries until `deadline`, or until a closing replica stops waiting for its turns. */
  private retrying(deadline: number): { deadline: number; signal: AbortSignal } {
    return { deadline, signal: this.givenUp.signal };
  }

  /** What this replica is still doing with turns, for a shutdown that overruns to name. */
  openWork(): string[] {
    return [...this.drives.keys()].map((sessionId) => `turn of session ${sessionId}`);
  }

  /**
   * Answers the session's owed messages in order, unless a turn for it already runs (here or elsewhere).
   * `likelyNext`, the message a sender just stored, spares the first read; it is checked under the lease.
   */
  kick(sessionId: string, likelyNext?: PendingMessage): void {
    if (this.closing) return;
    this.wanted.add(sessionId);
    if (likelyNext) this.hints.set(sessionId, likelyNext);
    if (!this.drives.has(sessionId)) this.drives.set(sessionId, this.drive(sessionId));
  }

  /** Asks the running turn (that reply's, when `messageId` is given) to stop, on whichever replica runs it. */
  async stop(sessionId: string, reason: StopReason, messageId?: string): Promise<boolean> {
    const lease = await this.sessions.flagStop(sessionId, reason, messageId);
    if (!lease) return false;
    // The flag alone reaches the runner at its next renewal; the signal makes it immediate.
    await this.signals
      .publishStop({ turnId: lease.turnId, reason })
      .catch((error: unknown) => this.logger.warn({ err: error, sessionId }, 'stop signal not published'));
    return true;
  }

  /**
   * Waits until no turn holds the session's lease (the one asked to stop has stored its reply), at most
   * `timeoutMs`: a turn on a replica that died keeps its lease until it expires, and is not waited for.
   */
  async settled(sessionId: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!(await this.sessions.turnLease(sessionId))) return true;
      if (Date.now() >= deadline) return false;
      await sleep(SETTLE_POLL_MS);
    }
  }

  /** The reply the session is streaming, if any, with what was said so far. */
  async inFlight(sessionId: string): Promise<InFlightReply | null> {
    const lease = await this.sessions.turnLease(sessionId);
    if (!lease || lease.settling) return null;
    const snapshot = await this.buffer.read(lease.turnId).catch(() => undefined);
    const streamed = snapshot?.streamed;
    return {
      messageId: lease.messageId,
      replyTo: lease.replyTo,
      index: streamed?.index ?? null,
      text: streamed?.text ?? null,
    };
  }

  private abort(turnId: string, reason: AbortReason): void {
    const controller = this.running.get(turnId);
    if (controller && !controller.signal.aborted) controller.abort(reason);
  }

  private async drive(sessionId: string): Promise<void> {
    // The caller records this drive before it runs, so a kick during it is never lost.
    await Promise.resolve();
    try {
      while (this.wanted.delete(sessionId) && !this.closing) await this.answerOwed(sessionId);
    } catch (error) {
      this.logger.error({ err: error, sessionId }, 'AI turn loop failed; the session is tried again shortly');
      this.retryLater(sessionId);
    } finally {
      this.drives.delete(sessionId);
    }
  }

  /** Kicks the session again after a database failure, sooner the first time (see RETRY_FIRST_MS). */
  private retryLater(sessionId: string): void {
    const retry = this.retries.get(sessionId) ?? { failures: 0 };
    if (this.closing || retry.timer) return;
    const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** retry.failures);
    retry.failures += 1;
    retry.timer = setTimeout(() => {
      retry.timer = undefined;
      this.kick(sessionId);
    }, delay);
    retry.timer.unref();
    this.retries.set(sessionId, retry);
  }

  /** The session's turns start again (or need not): its next failure is retried soon. */
  private recovered(sessionId: string): void {
    const retry = this.retries.get(sessionId);
    if (!retry) return;
    if (retry.timer) retry.failures = 0;
    else this.retries.delete(sessionId);
  }

  /**
   * Runs turns for the session's pending messages, one at a time. The lease is released after each
   * turn and the next pending message read after that, so a message stored meanwhile is never left
   * without a turn: either this loop reads it, or the lease was free when its sender kicked.
   */
  private async answerOwed(sessionId: string): Promise<void> {
    while (!this.closing) {
      const deadline = Date.now() + this.config.chat.turnLeaseMs;
      const hint = this.hints.get(sessionId);
      this.hints.delete(sessionId);
      const next = hint ?? (await withDbRetry(() => this.sessions.nextPending(sessionId), this.retrying(deadline)));
      if (!next) return this.recovered(sessionId);
      const lease = this.newLease(next);
      // Registered before the lease exists, so a stop signal naming the turn always finds it.
      const controller = new AbortController();
      this.running.set(lease.turnId, controller);
      try {
        // Another turn runs (here or elsewhere): its holder answers what follows.
        if (!(await this.claim(sessionId, lease, deadline))) return;
        // Read together, under the lease: the session (still the AI's?), the next message owed (the one
        // read before may have been answered by the turn that held the lease until just now), and the
        // newest history (which may hold that turn's reply).
        let unreadable = false;
        const [session, still, newest] = await withDbRetry(
          () =>
            Promise.all([
              this.sessions.find(sessionId),
              this.sessions.nextPending(sessionId),
              this.sessions.newestMessages(sessionId, undefined, HISTORY_PAGE),
            ]),
          this.retrying(deadline),
        ).catch((error: unknown) => {
          this.logger.warn(
            { err: error, sessionId, turnId: lease.turnId },
            'turn not started: the session could not be read',
          );
          unreadable = true;
          return [undefined, undefined, []] as const;
        });
        const ours = session?.status === 'active' && session.owner === 'ai';
        const same = still?.id === next.id && still.attempt === next.attempt;
        const result =
          !session || !ours || !same || this.closing
            ? 'not_started'
            : await this.run(session, lease, next, controller, newest);
        // Unsettled: the lease is left to expire, and whoever takes it over stores the kept reply.
        if (result === 'unsettled') return;
        await this.release(sessionId, lease.turnId);
        // Only a different message owed is taken on at once. A turn the database kept from starting (the
        // session or its history could not be read, the lease was not sure) is tried again shortly; one for a
        // session that ended or changed owner is not, and a closing replica leaves the message owed.
        if (result === 'not_started' && (unreadable || (ours && same))) this.retryLater(sessionId);
        else this.recovered(sessionId);
        if (result === 'not_started' && (!ours || same || !still)) return;
      } finally {
        this.running.delete(lease.turnId);
      }
    }
  }

  /**
   * Takes the session's lease for a turn. Each try asks for a whole lease from its own moment, so a claim
   * that lands after retries is not already near its end. When the tries run out, the last may have landed
   * unanswered: it is released, not left to block the session until it expires.
   */
  private async claim(sessionId: string, lease: TurnLease, deadline: number): Promise<boolean> {
    try {
      return await withDbRetry(() => {
        lease.expiresAt = new Date(Date.now() + this.config.chat.turnLeaseMs);
        return this.sessions.claimTurn(sessionId, lease);
      }, this.retrying(deadline));
    } catch (error) {
      await this.release(sessionId, lease.turnId);
      throw error;
    }
  }

  private async release(sessionId: string, turnId: string): Promise<void> {
    await withDbRetry(
      () => this.sessions.releaseTurn(sessionId, turnId),
      this.retrying(Date.now() + this.config.chat.turnLeaseMs),
    ).catch((error: unknown) =>
      // It expires by itself; whoever takes it finds the reply stored and only releases it.
      this.logger.warn({ err: error, sessionId, turnId }, 'lease not released'),
    );
  }

  private newLease(message: PendingMessage): TurnLease {
    return {
      turnId: randomUUID(),
      replica: this.replica,
      replyTo: message.id,
      replyToSeq: message.seq,
      messageId: randomUUID(),
      attempt: message.attempt,
      expiresAt: new Date(Date.now() + this.config.chat.turnLeaseMs),
      stop: null,
      settling: null,
    };
  }

  private async run(
    session: SessionRecord,
    lease: TurnLease,
    message: PendingMessage,
    controller: AbortController,
    newest: MessageView[],
  ): Promise<'settled' | 'unsettled' | 'not_started'> {
    const sessionId = session._id;
    const { turnId, messageId, replyTo } = lease;
    // Sure until the expiry the lease was written with (by this replica's clock), less the allowance.
    const hold: Hold = { until: new Date(lease.expiresAt).getTime() - this.skewMs, lost: false };
    const unwatch = this.watch(sessionId, lease, session.epoch, hold, (reason) => {
      if (!controller.signal.aborted) controller.abort(reason);
    });
    try {
      let answering = this.llm.modelOrDefault(session.modelId);
      let history: HistoryMessage[];
      try {
        history = await this.history(sessionId, message, answering, newest);
      } catch (error) {
        this.logger.warn({ err: error, sessionId, turnId }, 'history not read: the message is answered later');
        return 'not_started';
      }
      // Before the prompt: the message's voice notes become the user's words (stored, so once).
      const asked = await this.withTranscripts(sessionId, message, controller.signal);
      // Nothing has been shown yet: a lease no longer sure (a long history read or transcription), or a
      // shutdown that began meanwhile, is not worth starting on.
      if (hold.lost) return 'unsettled';
      if (Date.now() > hold.until || controller.signal.reason === 'shutdown') return 'not_started';
      let mirrored = await this.buffer.open(turnId).then(
        () => true,
        () => false,
      );
      // Checked again: opening the mirror may have taken long (Redis slow or reconnecting).
      if (hold.lost) return 'unsettled';
      if (Date.now() > hold.until || controller.signal.reason === 'shutdown') {
        if (mirrored) void this.buffer.discard(turnId).catch(() => undefined);
        return 'not_started';
      }
      this.inFlightGauge.inc();
      const startedAt = Date.now();
      let firstDeltaMs: number | undefined;
      let text = '';
      let usage: FinishedReply['usage'];
      let finishReason = 'stop';
      /** The model asked for a human (`request_human`), with this reason. */
      let handoff: string | undefined;
      let failure: unknown;
      this.broadcaster.toSession(sessionId, 'ai:start', { sessionId, messageId, replyTo });
      // Each frame is mirrored before it is broadcast, so a device that resumes (reads the mirror after
      // joining the room) misses nothing: a frame is either in what it read or among the deltas it receives.
      let frames = Promise.resolve();
      const coalescer = new DeltaCoalescer(DELTA_FRAME_MS, (index, delta) => {
        frames = frames.then(async () => {
          // Past the last sure moment of its lease (the process stalled, or renewals failed), another
          // replica may have taken the turn over and told clients it ended: nothing more may come from here.
          if (Date.now() > hold.until && !controller.signal.aborted) controller.abort('lease_lost');
          if (controller.signal.reason === 'lease_lost') return;
          if (mirrored) {
            mirrored = await this.buffer.append(turnId, index, delta).catch(() => false);
            if (!mirrored) void this.buffer.discard(turnId).catch(() => undefined);
            // Checked again: the process may have stalled during the append.
            if (Date.now() > hold.until && !controller.signal.aborted) controller.abort('lease_lost');
            if (controller.signal.reason === 'lease_lost') return;
          }
          this.broadcaster.toSession(sessionId, 'ai:delta', { sessionId, messageId, index, text: delta });
        });
      });
      try {
        const stream = this.llm.streamTurn({
          modelId: answering.id,
          messages: await this.withImages(
            answering,
            buildPrompt(answering, history, asked.content, attachmentsOf(asked.files)),
          ),
          userId: message.senderId ?? '',
          sessionId,
          conversationId: session.providerConversationId,
          signal: controller.signal,
          // Until an administrator has answered an AI-raised request, the model cannot raise another.
          offerHandoff: !session.aiHelpAsked,
        });
        for await (const event of stream) {
          if (event.type === 'delta') {
            firstDeltaMs ??= Date.now() - startedAt;
            text += event.text;
            coalescer.push(event.text);
          } else if (event.type === 'model') answering = event.model;
          else if (event.type === 'usage') {
            usage = {
              promptTokens: event.promptTokens,
              completionTokens: event.completionTokens,
              estimated: event.estimated,
            };
          } else if (event.type === 'conversation') {
            await this.sessions
              .setProviderConversation(sessionId, event.conversationId)
              .catch((error: unknown) =>
                this.logger.warn({ err: error, sessionId, turnId }, 'provider conversation not saved'),
              );
          } else if (event.type === 'handoff') {
            handoff = event.reason;
            // The reply ends with the model's configured words to the user, streamed like the rest.
            const words = `${text ? '\n\n' : ''}${answering.handoffMessage}`;
            firstDeltaMs ??= Date.now() - startedAt;
            text += words;
            coalescer.push(words);
          } else finishReason = event.finishReason;
        }
      } catch (error) {
        if (!controller.signal.aborted) failure = error;
      } finally {
        this.inFlightGauge.dec();
      }
      // Every delta goes out before the turn's single terminal event.
      coalescer.finish();
      await frames;

      const reason = controller.signal.aborted ? (controller.signal.reason as AbortReason) : undefined;
      if (reason === 'lease_lost') {
        // Another replica holds the session now and settles this reply; nothing more may come from here.
        this.logger.warn({ sessionId, turnId }, 'turn lease lost: the reply is left to its new holder');
        return 'unsettled';
      }
      const latency = { firstDeltaMs, totalMs: Date.now() - startedAt };
      const base = { content: text, model: answering.id, usage, latency };
      let reply: FinishedReply;
      if (failure !== undefined) {
        const cause =
          failure instanceof AppError ? failure : new AppError('unavailable', 'The assistant could not answer');
        this.logger.warn({ err: failure, sessionId, turnId, code: cause.code }, 'AI turn failed');
        const error = { code: cause.code, message: cause.message };
        reply = { ...base, status: text ? 'interrupted' : 'failed', finishReason: 'error', error };
      } else if (reason === 'shutdown') {
        const error = { code: 'interrupted', message: 'The reply was cut by a server restart; it is answered again' };
        reply = { ...base, status: 'interrupted', finishReason: 'shutdown', error };
      } else if (reason === 'owner_changed') {
        // Cut, not finished: the human who took the session over answers the message instead.
        const error = { code: 'interrupted', message: 'A human agent took over the conversation' };
        reply = { ...base, status: 'interrupted', finishReason: reason, error };
      } else if (reason !== undefined) {
        reply = { ...base, status: 'stopped', finishReason: reason };
      } else {
        reply = { ...base, status: 'complete', finishReason };
      }
      const stats: TurnStats = {
        tokens: { prompt: usage?.promptTokens ?? 0, completion: usage?.completionTokens ?? 0 },
        responseMs: firstDeltaMs ?? latency.totalMs,
        turnMs: latency.totalMs,
      };
      const settled = await this.settle(sessionId, lease, lease.turnId, reply, hold, stats);
      if (settled === 'stored' && handoff !== undefined && reply.status === 'complete') {
        await this.askForHuman(session, answering, handoff);
      }
      if (settled === 'stored') {
        const labels = { provider: answering.provider, model: answering.id };
        this.turnDuration.observe(labels, latency.totalMs / 1000);
        if (firstDeltaMs !== undefined) this.firstDelta.observe(labels, firstDeltaMs / 1000);
      }
      return settled === 'unsettled' ? 'unsettled' : 'settled';
    } finally {
      unwatch();
    }
  }

  /**
   * The model called `request_human`: the session asks for a human with the model's reason, once until an
   * administrator answers (the guard is taken first, so a retry never raises a second request).
   */
  private async askForHuman(session: SessionRecord, model: ModelConfig, reason: string): Promise<void> {
    const sessionId = session._id;
    const deadline = Date.now() + this.config.chat.turnLeaseMs;
    try {
      // An administrator who took the session while the reply was being stored answers the user already.
      const current = await withDbRetry(() => this.sessions.find(sessionId), this.retrying(deadline));
      if (current.owner !== 'ai') return;
      if (!(await withDbRetry(() => this.sessions.claimAiHelpRequest(sessionId), this.retrying(deadline)))) return;
      const { session: view, marker } = await withDbRetry(
        () =>
          this.sessions.requestHelp(sessionId, {
            source: 'ai',
            requestedBy: model.id,
            reason: reason.trim() || undefined,
          }),
        this.retrying(deadline),
      );
      if (marker) this.broadcaster.toSessionAndUser(sessionId, session.userId, 'message:new', { ...marker });
      this.broadcaster.toSessionAndUser(sessionId, session.userId, 'session:state', { ...view });
    } catch (error) {
      this.logger.error({ err: error, sessionId }, 'the model asked for a human, but no help request was opened');
    }
  }

  /**
   * Keeps the lease while its holder works (streaming, then settling): renews it, moving `hold.until`,
   * and calls `stop` when the lease says so (a stop request, the session ended, a new owner), when it
   * was lost (`hold.lost`), or when the session has had no device for TURN_ABANDON_AFTER_MS. Renewing
   * and counting devices run on timers of their own: a count asks every replica and may wait on a
   * slow one, which must never delay a renewal.
   */
  private watch(
    sessionId: string,
    lease: TurnLease,
    epoch: number | undefined,
    hold: Hold,
    stop: (reason: AbortReason) => void,
  ): () => void {
    const { turnLeaseMs, turnAbandonAfterMs } = this.config.chat;
    const log = { sessionId, turnId: lease.turnId };
    const renew = async (): Promise<void> => {
      try {
        const asked = Date.now();
        const renewed = await this.sessions.renewTurn(sessionId, lease.turnId, new Date(asked + turnLeaseMs));
        if (!renewed) {
          hold.lost = true;
          return stop('lease_lost');
        }
        hold.until = asked + turnLeaseMs - this.skewMs;
        const { session } = renewed;
        if (renewed.lease.stop) stop(renewed.lease.stop);
        else if (session?.status !== 'active') stop('session_ended');
        else if (session.owner !== 'ai' || (epoch !== undefined && session.epoch !== epoch)) stop('owner_changed');
      } catch (error) {
        // The lease keeps its time left; the next renewal tries again.
        if (!isTransientDbError(error)) this.logger.warn({ ...log, err: error }, 'lease not renewed');
      }
    };
    let lastPresent = Date.now();
    const count = async (): Promise<void> => {
      try {
        if ((await this.broadcaster.devicesInSession(sessionId)) > 0) lastPresent = Date.now();
        else if (Date.now() - lastPresent >= turnAbandonAfterMs) stop('abandoned');
      } catch (error) {
        // Not knowing is not the same as nobody there: an unanswered count never abandons a reply.
        lastPresent = Date.now();
        this.logger.warn({ ...log, err: error }, 'could not count the devices in a session');
      }
    };
    const timers = [
      every(Math.max(50, turnLeaseMs / 3), renew),
      every(Math.max(50, Math.min(turnLeaseMs, turnAbandonAfterMs / 4)), count),
    ];
    return () => timers.forEach(clearInterval);
  }

  /**
   * The message with a transcript for each of its voice notes: those without one are transcribed now
   * (TRANSCRIPTION_MODEL) and stored with it, and its devices and watchers get it again as `message:new`.
   * No transcription model, or a transcription that failed, is stored as such: the prompt says so, and
   * the message is answered all the same. A stop during it stores nothing.
   */
  private async withTranscripts(
    sessionId: string,
    message: PendingMessage,
    signal: AbortSignal,
  ): Promise<PendingMessage> {
    const waiting = message.files.filter((file) => isVoiceNote(file) && !file.transcript);
    if (waiting.length === 0) return message;
    const deadline = Date.now() + this.config.chat.turnLeaseMs;
    let files = message.files;
    let latest: MessageView | undefined;
    let changed = false;
    for (const file of waiting) {
      const transcript = await this.transcribe(sessionId, file, signal);
      if (!transcript) break;
      const outcome = await withDbRetry(
        () => this.sessions.storeTranscript(sessionId, message.id, file.id, transcript),
        this.retrying(deadline),
      ).catch((error: unknown) => {
        this.logger.warn({ err: error, sessionId, fileId: file.id }, 'transcript not stored; used for this reply only');
        return undefined;
      });
      // Another turn may have stored one first: the stored one is the transcript.
      const kept = outcome?.message.files.find((f) => f.id === file.id)?.transcript ?? transcript;
      files = files.map((f) => (f.id === file.id ? { ...f, transcript: kept } : f));
      if (outcome) {
        latest = outcome.message;
        changed ||= outcome.stored;
      }
    }
    if (changed && latest) this.broadcaster.toSession(sessionId, 'message:new', { ...latest });
    return { ...message, files };
  }

  /** One voice note's transcript, or undefined when the turn was stopped meanwhile. */
  private async transcribe(sessionId: string, file: FileRef, signal: AbortSignal): Promise<Transcript | undefined> {
    if (signal.aborted) return undefined;
    if (!this.llm.transcriptionConfigured) return { status: 'unavailable' };
    try {
      const audio = await this.uploads.audioBytes(file.id);
      if (!audio) throw new Error('the voice note is gone from storage');
      const text = await this.llm.transcribeVoice(audio, file.name, file.type, signal);
      return { status: 'done', text };
    } catch (error) {
      if (signal.aborted) return undefined;
      this.logger.warn({ err: error, sessionId, fileId: file.id }, 'voice note not transcribed; the model is told');
      return { status: 'failed' };
    }
  }

  /**
   * For a model that sees images: the bytes of the newest user images it may be shown (LLM_VISION_MAX_IMAGES);
   * any other image stays a note. An image that cannot be read (deleted meanwhile) stays a note too.
   */
  private async withImages(model: ModelConfig, prompt: PromptMessage[]): Promise<PromptMessage[]> {
    if (!model.vision) return prompt;
    let left = this.config.llm.visionMaxImages;
    for (let i = prompt.length - 1; i >= 0 && left > 0; i--) {
      const message = prompt[i];
      if (message.role !== 'user' || !message.attachments) continue;
      const attachments = [...message.attachments];
      for (let j = attachments.length - 1; j >= 0 && left > 0; j--) {
        const attachment = attachments[j];
        if (attachment.kind !== 'image' || !attachment.fileId) continue;
        left--;
        const data = await this.uploads.imageBytes(attachment.fileId).catch((error: unknown) => {
          this.logger.warn({ err: error, fileId: attachment.fileId }, 'image not read; the model is told of it');
          return undefined;
        });
        if (data) attachments[j] = { ...attachment, data };
      }
      prompt[i] = { ...message, attachments };
    }
    return prompt;
  }

  /**
   * The newest history that can fit the model's budget, read newest first a page at a time (never the
   * whole session; the first page was read with the claim), in conversation order.
   */
  private async history(
    sessionId: string,
    current: MessageView,
    model: ModelConfig,
    newest: MessageView[],
  ): Promise<HistoryMessage[]> {
    const budget = model.contextTokens - model.maxTokens;
    const deadline = Date.now() + this.config.chat.turnLeaseMs;
    const loaded: MessageView[] = [];
    let page = newest;
    let tokens = 0;
    for (;;) {
      loaded.push(...page);
      for (const m of page) if (m.seq < current.seq || m.sender === 'ai') tokens += estimateTokens(m.content);
      if (page.length < HISTORY_PAGE || tokens >= budget || loaded.length >= HISTORY_MAX) break;
      const before = page[page.length - 1].seq;
      page = await withDbRetry(
        () => this.sessions.newestMessages(sessionId, before, HISTORY_PAGE),
        this.retrying(deadline),
      );
    }
    return conversationBefore(loaded, current);
  }

  /**
   * Stores the reply answering `reply.replyTo` under `writer`'s lease and sends its one terminal event.
   * The reply is kept in the turn buffer first (under `bufferTurnId`): if the database refuses it past
   * the retries, the lease expires and whoever takes it over stores it from there. The one turn that claims
   * the stored reply's announcement — its writer right after storing it, or, if the writer stopped first, the
   * next holder of the lease — sends its terminal event, built from what was stored. If another writer
   * stored the answer first, this one only helps finish it.
   */
  private async settle(
    sessionId: string,
    writer: TurnLease,
    bufferTurnId: string,
    reply: FinishedReply,
    hold: Hold,
    stats?: TurnStats,
  ): Promise<'stored' | 'found' | 'unsettled'> {
    const { messageId, replyTo } = writer;
    const log = { sessionId, turnId: writer.turnId };
    const deadline = Date.now() + this.config.chat.turnLeaseMs;
    const retrying = {
      ...this.retrying(deadline),
      onRetry: (error: unknown) => this.logger.warn({ ...log, err: error }, 'reply not saved yet: retrying'),
    };
    await this.buffer
      .finish(bufferTurnId, reply)
      .catch((error: unknown) => this.logger.warn({ ...log, err: error }, 'finished reply not kept'));
    let outcome;
    try {
      outcome = await withDbRetry(() => {
        if (hold.lost) throw new LeaseLost();
        return this.sessions.storeReply(sessionId, {
          id: messageId,
          turnId: writer.turnId,
          replyTo,
          replyToSeq: writer.replyToSeq,
          attempt: writer.attempt,
          content: reply.content,
          status: reply.status,
          finishReason: reply.finishReason,
          model: reply.model,
          usage: reply.usage,
          latency: reply.latency,
          error: reply.error,
          stats,
        });
      }, retrying);
      const stored = outcome.stored ? outcome.message : outcome.winner;
      if (!outcome.stored) {
        this.logger.warn({ ...log, storedReply: stored.id }, 'another reply answered this message');
        // This reply was streamed but will never be stored: its devices drop it.
        if (stored.id !== messageId && Date.now() < hold.until) {
          const error = interrupted('Another reply answered this message');
          this.broadcaster.toSession(sessionId, 'ai:error', { sessionId, messageId, replyTo, error });
        }
      }
      // Marks the user message, then claims the announcement; the one turn that claims it sends it.
      const reopen = REOPENING_REASONS.has(stored.finishReason ?? '') ? writer.attempt + 1 : undefined;
      if (
        await withDbRetry(() => this.sessions.answer(sessionId, replyTo, stored.id, writer.turnId, reopen), retrying)
      ) {
        this.announce(sessionId, stored);
      }
    } catch (error) {
      if (error instanceof LeaseLost)
        this.logger.warn(log, 'turn lease lost while saving: the reply is left to its new holder');
      else this.logger.error({ ...log, err: error }, 'reply not saved: it is kept for the next attempt');
      return 'unsettled';
    }
    if (outcome.stored) this.turns.inc({ outcome: reply.status });
    await this.buffer.discard(bufferTurnId).catch(() => undefined);
    return outcome.stored ? 'stored' : 'found';
  }

  /** The one terminal event of a stored reply, built from what was stored. */
  private announce(sessionId: string, stored: MessageView): void {
    const replyTo = stored.replyTo ?? '';
    if (stored.status === 'complete' || stored.status === 'stopped') {
      this.broadcaster.toSession(sessionId, 'ai:end', {
        sessionId,
        messageId: stored.id,
        replyTo,
        seq: stored.seq,
        usage: stored.usage,
        finishReason: stored.finishReason ?? 'stop',
      });
      return;
    }
    const error = stored.error ?? interrupted('The reply was cut');
    this.broadcaster.toSession(sessionId, 'ai:error', {
      sessionId,
      messageId: stored.id,
      replyTo,
      seq: stored.seq,
      error,
    });
  }

  /** Settles turns whose replica stopped renewing their lease (it died, or stalled past the lease). */
  private async recoverExpired(): Promise<void> {
    try {
      for (const { sessionId, lease } of await this.sessions.expiredTurns(RECOVERY_BATCH)) {
        if (this.closing) return;
        if (this.running.has(lease.turnId)) continue;
        await this.recover(sessionId, lease).catch((error: unknown) =>
          this.logger.error({ err: error, sessionId }, 'expired turn not recovered'),
        );
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'expired turns not read; retrying next interval');
    }
  }

  private async recover(sessionId: string, expired: TurnLease): Promise<void> {
    // The turn whose reply is being settled: the expired one, or the one its own settler was settling.
    const settling = expired.settling ?? expired.turnId;
    const lease: TurnLease = {
      ...expired,
      turnId: randomUUID(),
      replica: this.replica,
      expiresAt: new Date(Date.now() + this.config.chat.turnLeaseMs),
      stop: null,
      settling,
    };
    if (!(await this.sessions.takeExpiredTurn(sessionId, expired.turnId, lease))) return;
    this.logger.warn(
      { sessionId, turnId: settling, replica: expired.replica },
      'settling a turn whose replica stopped',
    );
    const hold: Hold = { until: lease.expiresAt.getTime() - this.skewMs, lost: false };
    // Settling only: the lease is kept while the reply is stored, whoever owns the session now.
    const unwatch = this.watch(sessionId, lease, undefined, hold, () => undefined);
    try {
      const snapshot = await this.buffer.read(settling).catch(() => undefined);
      // A reply its runner finished but could not store is stored as it was; anything else was cut.
      const reply: FinishedReply = snapshot?.finished ?? {
        content: snapshot?.streamed?.text ?? '',
        status: 'interrupted',
        finishReason: 'replica_lost',
        latency: { totalMs: 0 },
        error: { code: 'interrupted', message: 'The reply was cut by a server failure; it is answered again' },
      };
      if ((await this.settle(sessionId, lease, settling, reply, hold)) === 'unsettled') return;
    } finally {
      unwatch();
    }
    await this.release(sessionId, lease.turnId);
    this.kick(sessionId);
  }
}
