import { randomBytes, randomUUID } from 'node:crypto';
import { mongo } from 'mongoose';
import type { MessageDoc, MessageStatus, Sender } from '../../src/session/schemas/message.schema';
import type { OwnerChangeDoc } from '../../src/session/schemas/owner-change.schema';
import type { SessionDoc } from '../../src/session/schemas/session.schema';
import type { ConcurrencySampleDoc } from '../../src/usage/schemas/concurrency-sample.schema';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-sonnet', 'fake'];
const MODEL_WEIGHTS = [0.5, 0.25, 0.2, 0.05];
const ADMINS = 8;
const BATCH = 1000;
/** Kept ahead of the clock: the sweeper and the hold keeper leave the seeded sessions as they are while measured. */
const FUTURE_MS = 6 * HOUR;

/** What is written where, as Chatbox's schemas declare it. */
interface Collections {
  chat_sessions: SessionDoc;
  messages: MessageDoc;
  owner_changes: OwnerChangeDoc;
  concurrency_samples: ConcurrencySampleDoc;
}

export interface HistoryPlan {
  sessions: number;
  messages: number;
  users: number;
  days: number;
}

export interface SeededHistory {
  sessions: number;
  messages: number;
  activeSessions: number;
  /** Active sessions an administrator holds (what `status=active&owner=admin` finds). */
  heldSessions: number;
  takeovers: number;
  samples: number;
  /** The user with the most sessions, and how many sessions and messages they have. */
  heaviestUser: { userId: string; sessions: number; messages: number };
  bySender: Record<Sender, number>;
  /** What `now` the history ends at. */
  endsAt: number;
  seconds: number;
}

/** mulberry32: the same sessions and messages on every run (placed from the current UTC day on), so runs compare. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes into the service's own database a history of `days` days: sessions of a few hundred users, a
 * few of them heavy (popularity falls as 1/√rank), started more in the daytime than at night, their
 * messages (user, AI with usage and latency, administrator, help markers) inside each session's time,
 * the takeovers and one concurrency sample per minute, as Chatbox itself would have stored them.
 * Message contents are opaque strings shaped like ciphertext: none of the routes measured decrypts them.
 */
export async function seedHistory(uri: string, plan: HistoryPlan): Promise<SeededHistory> {
  if (plan.messages < plan.sessions) throw new Error('every session has at least one message');
  const started = Date.now();
  const now = started;
  const rand = random(7);
  const pick = <T>(items: readonly T[], weights?: readonly number[]): T => {
    if (!weights) return items[Math.floor(rand() * items.length)];
    let r = rand() * weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < items.length; i++) if ((r -= weights[i]) < 0) return items[i];
    return items[items.length - 1];
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const logNormal = (medianValue: number, spread: number) => medianValue * Math.exp(spread * normal());
  const between = (min: number, max: number) => min + rand() * (max - min);
  const int = (min: number, max: number) => Math.floor(between(min, max + 1));

  const userWeights = Array.from({ length: plan.users }, (_, i) => 1 / Math.sqrt(i + 1));
  const userIds = Array.from({ length: plan.users }, (_, i) => `user-${String(i + 1).padStart(4, '0')}`);
  // Daytime (UTC 08–20) three times as busy as the night; a fixed number of draws per session, so the
  // same sessions come out whatever the time of day.
  const hours = Array.from({ length: 24 }, (_, h) => h);
  const hourWeights = hours.map((h) => (h >= 8 && h < 20 ? 3 : 1));
  const today = Math.floor(now / DAY) * DAY;
  const startTime = (from: number, to: number) => {
    let t = today - Math.floor(rand() * plan.days) * DAY + pick(hours, hourWeights) * HOUR + rand() * HOUR;
    if (t > to) t -= DAY;
    return Math.min(to, Math.max(from, t));
  };

  // Each session's user and message count first: the counts are drawn, then scaled to add up to `messages`.
  const users = Array.from({ length: plan.sessions }, () => pick(userIds, userWeights));
  const draws = users.map(() => logNormal(1, 0.9));
  const scale = plan.messages / draws.reduce((a, b) => a + b, 0);
  const counts = draws.map((d) => Math.max(1, Math.round(d * scale)));
  let excess = counts.reduce((a, b) => a + b, 0) - plan.messages;
  for (let i = 0; excess !== 0; i = (i + 1) % counts.length) {
    const step = excess > 0 ? (counts[i] > 1 ? -1 : 0) : 1;
    counts[i] += step;
    excess += step;
  }

  // One active session for some users (a user has at most one): the last of theirs in the list.
  const activeLast = new Map<string, number>();
  users.forEach((userId, i) => activeLast.set(userId, i));
  const active = new Set(
    [...activeLast.values()].filter(() => rand() < Math.min(0.5, (plan.sessions * 0.02) / activeLast.size)),
  );

  const client = new mongo.MongoClient(uri);
  await client.connect();
  const db = client.db();
  const pending: Promise<unknown>[] = [];
  const buffers = new Map<string, { _id: string }[]>();
  // Two batches in flight, so FerretDB and PostgreSQL both stay busy.
  const send = async (collection: string, docs: { _id: string }[]) => {
    pending.push(db.collection<{ _id: string }>(collection).insertMany(docs, { ordered: false }));
    if (pending.length >= 2) await pending.shift();
  };
  const write = async <K extends keyof Collections>(collection: K, doc: Collections[K]) => {
    const buffer = buffers.get(collection) ?? [];
    buffers.set(collection, buffer);
    buffer.push(doc);
    if (buffer.length >= BATCH) await send(collection, buffer.splice(0));
  };
  const drain = async () => {
    for (const [collection, docs] of buffers) if (docs.length) await send(collection, docs.splice(0));
    await Promise.all(pending.splice(0));
  };

  const bySender: Record<Sender, number> = { user: 0, ai: 0, admin: 0, system: 0 };
  const perUser = new Map<string, { sessions: number; messages: number }>();
  let held = 0;
  let takeovers = 0;
  try {
    for (let i = 0; i < plan.sessions; i++) {
      const userId = users[i];
      const isActive = active.has(i);
      const count = counts[i];
      const sessionId = randomUUID();
      const startedAt = isActive
        ? between(now - 3 * HOUR, now - 5 * MINUTE)
        : startTime(now - plan.days * DAY + MINUTE, now - 30 * MINUTE);
      // Messages come a few seconds to minutes apart; an active session's so far reach at most now.
      const gaps = Array.from({ length: count }, () => Math.min(20 * MINUTE, logNormal(25_000, 1)));
      const span = gaps.reduce((a, b) => a + b, 0);
      const limit = now - startedAt - 1000;
      if (span > limit) gaps.forEach((g, j) => (gaps[j] = (g * limit) / span));
      const modelId = pick(MODELS, MODEL_WEIGHTS);
      const helpRequests = rand() < 0.12 ? int(1, 3) : 0;
      const assisted = helpRequests > 0 ? rand() < 0.7 : rand() < 0.03;
      const adminId = `admin-${int(1, ADMINS)}`;
      // From this message on (a help marker's, when there is one), an administrator answers.
      const helpAt = new Set<number>();
      while (helpAt.size < Math.min(helpRequests, count - 1)) helpAt.add(int(2, count));
      const adminFrom = assisted ? (helpAt.size ? Math.min(...helpAt) : int(2, Math.max(2, count))) : Infinity;
      const stillHeld = assisted && (isActive ? rand() < 0.6 : rand() < 0.5);

      const tokens = { prompt: 0, completion: 0 };
      const responseTime = { count: 0, sumMs: 0, maxMs: 0 };
      const turnTime = { count: 0, sumMs: 0, maxMs: 0 };
      let at = startedAt;
      let previous: MessageDoc | undefined;
      let lastUser: MessageDoc | undefined;
      let help = 0;
      let takeoverAt: number | undefined;
      let helpRequestedAt: number | undefined;
      for (let seq = 1; seq <= count; seq++) {
        at += gaps[seq - 1];
        const createdAt = new Date(at);
        const base = { _id: randomUUID(), sessionId, seq, createdAt, status: 'complete' as MessageStatus };
        const content = `v1:bench:${randomBytes(28 + int(8, 600)).toString('base64')}`;
        let message: MessageDoc;
        if (helpAt.has(seq)) {
          help++;
          helpRequestedAt ??= at;
          message = { ...base, clientKey: `s:help:${help}`, sender: 'system', content };
        } else if (previous?.sender === 'user' && seq >= adminFrom) {
          if (takeoverAt === undefined) takeoverAt = at - 1000;
          message = {
            ...base,
            clientKey: `a:${adminId}:${randomUUID()}`,
            sender: 'admin',
            senderId: adminId,
            senderName: `Admin ${adminId.slice(6)}`,
            content,
          };
        } else if (previous?.sender === 'user' && lastUser) {
          const status = pick<MessageStatus>(
            ['complete', 'stopped', 'interrupted', 'failed'],
            [0.93, 0.03, 0.02, 0.02],
          );
          const firstDeltaMs = Math.round(logNormal(700, 0.5));
          const totalMs = firstDeltaMs + Math.round(logNormal(4000, 0.8));
          const promptTokens = Math.round(logNormal(300 + 120 * seq, 0.4));
          const completionTokens = status === 'failed' ? 0 : Math.round(logNormal(220, 0.7));
          tokens.prompt += promptTokens;
          tokens.completion += completionTokens;
          for (const [figure, ms] of [
            [responseTime, firstDeltaMs],
            [turnTime, totalMs],
          ] as const) {
            figure.count++;
            figure.sumMs += ms;
            figure.maxMs = Math.max(figure.maxMs, ms);
          }
          message = {
            ...base,
            clientKey: `r:${lastUser._id}:0`,
            sender: 'ai',
            content,
            status,
            model: modelId,
            usage: { promptTokens, completionTokens, estimated: false },
            latency: { firstDeltaMs, totalMs },
            replyTo: lastUser._id,
            replyToSeq: lastUser.seq,
            turnId: randomUUID(),
            // Absent, not undefined: the driver would store undefined as null.
            ...(status === 'complete' ? { finishReason: 'stop' } : {}),
            ...(status === 'failed' ? { error: { code: 'upstream_error', message: 'The model did not answer' } } : {}),
          };
        } else {
          message = {
            ...base,
            clientKey: `c:${randomUUID()}`,
            sender: 'user',
            senderId: userId,
            senderName: `User ${userId.slice(5)}`,
            content,
            answered: true,
            attempt: 0,
          };
          lastUser = message;
        }
        bySender[message.sender]++;
        await write('messages', message);
        previous = message;
      }

      const lastActivityAt = new Date(at);
      const endedAt = isActive
        ? undefined
        : new Date(Math.min(now - 1000, at + (rand() < 0.4 ? 0 : between(0, 15 * MINUTE))));
      const owner = stillHeld ? (`admin:${adminId}` as const) : 'ai';
      const epoch = assisted ? (stillHeld ? 1 : 2) : 0;
      if (assisted) {
        const takenAt = takeoverAt ?? at;
        await write('owner_changes', {
          _id: `${sessionId}:1`,
          sessionId,
          epoch: 1,
          owner: `admin:${adminId}`,
          previousOwner: 'ai',
          ownerName: `Admin ${adminId.slice(6)}`,
          cause: 'takeover',
          actor: `admin:${adminId}`,
          at: new Date(takenAt),
          ...(helpRequestedAt !== undefined && helpRequestedAt <= takenAt
            ? { helpRequestedAt: new Date(helpRequestedAt) }
            : {}),
        });
        takeovers++;
        if (!stillHeld) {
          await write('owner_changes', {
            _id: `${sessionId}:2`,
            sessionId,
            epoch: 2,
            owner: 'ai',
            previousOwner: `admin:${adminId}`,
            previousOwnerName: `Admin ${adminId.slice(6)}`,
            cause: 'admin_left',
            actor: `admin:${adminId}`,
            at: new Date(Math.max(takenAt, at)),
          });
        }
      }
      if (isActive && stillHeld) held++;
      const helpOpen = isActive && help > 0 && !stillHeld && rand() < 0.5;
      await write('chat_sessions', {
        _id: sessionId,
        userId,
        userName: `User ${userId.slice(5)}`,
        nameIndex: [],
        fieldsVersion: 1,
        status: isActive ? 'active' : 'ended',
        activeKey: isActive ? userId : `ended:${sessionId}`,
        modelId,
        owner,
        epoch,
        hold: stillHeld
          ? {
              adminId,
              adminName: `Admin ${adminId.slice(6)}`,
              since: new Date(takeoverAt ?? at),
              seenAt: new Date(now + FUTURE_MS),
              wroteAt: new Date(now + FUTURE_MS),
            }
          : null,
        startedAt: new Date(startedAt),
        lastActivityAt,
        lastSeenAt: isActive ? new Date(now + FUTURE_MS) : lastActivityAt,
        ...(endedAt ? { endedAt } : {}),
        durationMs: endedAt ? endedAt.getTime() - startedAt : 0,
        messageCount: count,
        lastSeq: count,
        lastMessageAt: lastActivityAt,
        tokens,
        totalTokens: tokens.prompt + tokens.completion,
        responseTime,
        turnTime,
        assisted,
        rev: epoch + help * 2 + (isActive ? 0 : 1),
        helpOpen,
        helpRequests: help,
        aiHelpAsked: false,
        ...(help > 0 && helpRequestedAt !== undefined
          ? {
              help: {
                requestedAt: new Date(helpRequestedAt),
                source: rand() < 0.8 ? ('user' as const) : ('ai' as const),
                requestedBy: userId,
                ...(helpOpen
                  ? {}
                  : { closedAt: new Date(takeoverAt ?? at), closedBy: assisted ? `admin:${adminId}` : 'user' }),
              },
            }
          : {}),
      });
      const mine = perUser.get(userId) ?? { sessions: 0, messages: 0 };
      perUser.set(userId, { sessions: mine.sessions + 1, messages: mine.messages + count });
    }

    // One sample per minute, as the sampler writes them (METRICS_SAMPLE_MS), up to two slots ago: the
    // running service's sampler owns the current slot.
    let samples = 0;
    const lastSlot = Math.floor(now / MINUTE) * MINUTE - 2 * MINUTE;
    for (let slot = lastSlot - plan.days * DAY + MINUTE; slot <= lastSlot; slot += MINUTE, samples++) {
      const hour = new Date(slot).getUTCHours();
      const level = (plan.sessions / plan.days / 24) * (hour >= 8 && hour < 20 ? 1.5 : 0.5);
      await write('concurrency_samples', {
        _id: new Date(slot).toISOString(),
        at: new Date(slot + 1000),
        active: Math.max(0, Math.round(level * (0.7 + 0.6 * rand()))),
        replica: 'bench-seed',
      });
    }
    await drain();

    const [heaviest, figures] = [...perUser.entries()].sort((a, b) => b[1].sessions - a[1].sessions)[0];
    return {
      sessions: plan.sessions,
      messages: plan.messages,
      activeSessions: active.size,
      heldSessions: held,
      takeovers,
      samples,
      heaviestUser: { userId: heaviest, ...figures },
      bySender,
      endsAt: now,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await client.close();
  }
}
