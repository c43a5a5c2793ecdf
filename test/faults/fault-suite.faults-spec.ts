import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import mongoose from 'mongoose';
import { freePort } from '../../src/database/server-process';
import { FakeLlmServer } from '../servers/fake-llm-server';
import { OwnFerretDb, startOwnFerretDb } from '../servers/own-ferretdb';
import { RedisServer, startRedisServer } from '../servers/redis-server';
import { ChatboxProcess } from '../utils/chatbox-process';
import { signToken } from '../utils/chat-client';
import { waitFor } from '../utils/wait-for';
import { LoadBalancer, startHaproxy } from './haproxy';
import { SimulatedUser } from './simulated-user';
import { PROJECT_ROOT } from '../setup/test-env';

/** A count from the environment, or its default; anything but a whole number fails the suite at once. */
function count(name: string, fallback: number): number {
  const value = process.env[name] ?? String(fallback);
  if (!/^\d+$/.test(value)) throw new Error(`${name} must be a whole number, not "${value}"`);
  return Number(value);
}

const USERS = count('FAULT_USERS', 50);
const KILLS = count('FAULT_KILLS', 20);
const DATABASE_RESTARTS = count('FAULT_DATABASE_RESTARTS', 1);
const REPLICAS = 3;
/**
 * A user's pause between an answer and its next message: a steady pace, still far above a person's. Every
 * message costs several whole-collection scans on FerretDB (which reads no index but `_id`), so a faster
 * pace on a 2-core machine measures the test database's slowdown as its collections grow, not the faults.
 */
const THINK_MS = { min: 1500, spread: 2000 };
const RECOVERY_MS = 10_000;
/** Every replica's log (killed ones included) is written here as it runs, to explain a failure or a hang. */
const LOG_DIR = path.join(PROJECT_ROOT, 'test-results', 'fault-suite');
/** Any one request the suite makes itself: a replica that does not answer fails the suite, never hangs it. */
const REQUEST_TIMEOUT_MS = 15_000;

/** A line on the suite's output as it goes (a hang shows where it stopped). */
const progress = (what: string) => process.stdout.write(`fault suite ${new Date().toISOString()}: ${what}\n`);

interface Replica {
  port: number;
  process: ChatboxProcess;
  /** Ended by the suite (SIGKILL or SIGTERM), not by a crash. */
  ended: boolean;
}

interface Fault {
  name: string;
  at: number;
}

interface StoredMessage {
  id: string;
  seq: number;
  sender: string;
  content?: string;
  status?: string;
  replyTo?: string;
}

describe('three replicas behind HAProxy, 50 users chatting, through kills, restarts and a rolling deploy', () => {
  const fake = new FakeLlmServer();
  const secret = randomBytes(32).toString('base64');
  let redis: RedisServer;
  let db: OwnFerretDb;
  let lb: LoadBalancer;
  const replicas: Replica[] = [];
  let started = 0;
  const crashes: string[] = [];
  const faults: Fault[] = [];
  let env: Record<string, string>;
  let users: SimulatedUser[] = [];

  const fault = (name: string) => {
    progress(name);
    faults.push({ name, at: Date.now() });
  };

  const startReplica = async (index: number, port: number): Promise<void> => {
    const logFile = path.join(LOG_DIR, `process-${started++}-replica-${index}.log`);
    const child = new ChatboxProcess({ ...env, PORT: String(port) }, { logFile });
    const replica: Replica = { port, process: child, ended: false };
    replicas[index] = replica;
    void child.exited.then((code) => {
      if (!replica.ended) crashes.push(`replica ${index} exited with ${code}: ${child.stderr.slice(-2000)}`);
    });
    await child.listening();
  };

  beforeAll(async () => {
    mkdirSync(LOG_DIR, { recursive: true });
    await fake.start();
    fake.fallback = { kind: 'echo', deltaMs: 60 };
    [redis, db] = await Promise.all([startRedisServer(), startOwnFerretDb()]);
    env = {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      MONGODB_URI: db.uri,
      REDIS_URL: redis.url,
      JWT_SECRET: secret,
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      METRICS_TOKEN: randomBytes(32).toString('base64'),
      LLM_MODELS: JSON.stringify([
        { id: 'gpt', provider: 'openai', model: 'gpt-fake', baseUrl: `${fake.baseUrl}/v1`, apiKey: 'k' },
      ]),
      SHUTDOWN_DRAIN_DELAY_MS: '1500',
      SHUTDOWN_TIMEOUT_MS: '10000',
      // Every simulated user comes from 127.0.0.1 through the balancer.
      HANDSHAKE_RATE_LIMIT_PER_MINUTE: '100000',
      RATE_LIMIT_EVENTS: '100000',
      SOCKETS_PER_USER: '10',
    };
    const ports = await Promise.all(Array.from({ length: REPLICAS }, () => freePort()));
    await Promise.all(ports.map((port, index) => startReplica(index, port)));
    lb = await startHaproxy(ports);
  }, 120_000);

  afterAll(async () => {
    // After a failure the users are still chatting: their sockets and timers would keep Jest from exiting.
    users.forEach((user) => user.abandon());
    for (const replica of replicas) replica.ended = true;
    await Promise.all(replicas.map((r) => r.process.stop()));
    await lb?.stop();
    await Promise.all([redis?.stop(), db?.stop(), fake.stop()]);
  }, 60_000);

  async function transcript(user: SimulatedUser): Promise<StoredMessage[]> {
    const token = await signToken(secret, { sub: user.userId });
    const all: StoredMessage[] = [];
    let beforeSeq: number | undefined;
    for (;;) {
      const query = beforeSeq === undefined ? '' : `?beforeSeq=${beforeSeq}`;
      const res = await fetch(`${lb.url}/chatbox/sessions/${user.sessionId}/messages${query}`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      if (res.status !== 200) throw new Error(`transcript of ${user.userId}: ${res.status} ${await res.text()}`);
      const page = (await res.json()) as { messages: StoredMessage[]; hasMore: boolean };
      all.unshift(...page.messages);
      if (!page.hasMore || page.messages.length === 0) return all;
      beforeSeq = page.messages[0].seq;
    }
  }

  /** The user messages, their replies and their sessions' turn leases, as stored (read past the service). */
  async function storedState(messageIds: string[]): Promise<unknown> {
    const connection = await mongoose
      .createConnection(db.uri, { serverSelectionTimeoutMS: 5000, socketTimeoutMS: REQUEST_TIMEOUT_MS })
      .asPromise();
    try {
      const messages = connection.collection('messages');
      const projection = { projection: { content: 0 } };
      const asked = await messages.find({ _id: { $in: messageIds } } as never, projection).toArray();
      const replies = await messages.find({ replyTo: { $in: messageIds } }, projection).toArray();
      const sessionIds = [...new Set(asked.map((m) => m.sessionId as string))];
      const leases = await connection
        .collection('turn_leases')
        .find({ _id: { $in: sessionIds } } as never)
        .toArray();
      return { asked, replies, leases };
    } catch (error) {
      return { unreadable: String(error) };
    } finally {
      await connection.close();
    }
  }

  /**
   * What the replicas logged at info level or above about these sessions since `since`, the newest
   * `perSession` lines of each, oldest first: a settle that fails says why on the suite's own output (CI keeps
   * no replica logs).
   */
  function replicaLogsAbout(sessionIds: string[], since: number, perSession = 15): string[] {
    const wanted = new Set(sessionIds);
    const lines: { time: number; sessionId: string; text: string }[] = [];
    for (const file of readdirSync(LOG_DIR)) {
      for (const line of readFileSync(path.join(LOG_DIR, file), 'utf8').split('\n')) {
        let entry: {
          time?: number;
          level?: number;
          msg?: string;
          sessionId?: string;
          turnId?: string;
          err?: { message?: string; code?: string };
        };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          continue;
        }
        if (!entry.sessionId || !wanted.has(entry.sessionId) || (entry.time ?? 0) < since || (entry.level ?? 0) < 30)
          continue;
        const err = entry.err ? ` (${entry.err.code ?? ''} ${entry.err.message?.slice(0, 120) ?? ''})` : '';
        const at = new Date(entry.time ?? 0).toISOString().slice(11, 23);
        lines.push({
          time: entry.time ?? 0,
          sessionId: entry.sessionId,
          text: `${at} ${file} ${entry.sessionId} ${entry.turnId ?? ''} ${entry.msg ?? ''}${err}`,
        });
      }
    }
    lines.sort((a, b) => a.time - b.time);
    const kept = sessionIds.flatMap((id) => lines.filter((l) => l.sessionId === id).slice(-perSession));
    return kept.sort((a, b) => a.time - b.time).map((l) => l.text);
  }

  it('loses nothing, doubles nothing, answers everything once, and brings 99% of clients back within 10 s of each fault', async () => {
    users = Array.from(
      { length: USERS },
      (_, i) =>
        new SimulatedUser(
          lb.url,
          `fault-user-${i}`,
          () => signToken(secret, { sub: `fault-user-${i}` }),
          () => THINK_MS.min + Math.random() * THINK_MS.spread,
        ),
    );
    users.forEach((user) => user.start());
    await waitFor(() => users.every((u) => u.sent.some((m) => m.answeredAt !== undefined)), {
      timeoutMs: 60_000,
      what: 'every user to have one answer before the faults begin',
    });
    // Mid-stream: a replica whose own gauge says it is generating a reply right now.
    const turnsInFlight = async (replica: Replica) => {
      const res = await fetch(`http://127.0.0.1:${replica.port}/metrics`, {
        headers: { authorization: `Bearer ${env.METRICS_TOKEN}` },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const lines = (await res.text()).match(/^chatbox_ai_turns_in_flight(?:\{[^}]*\})? \d+$/gm) ?? [];
      return lines.reduce((sum, line) => sum + Number(line.split(' ')[1]), 0);
    };
    const streamingReplica = async () => {
      const busy: number[] = [];
      for (const [index, replica] of replicas.entries()) if ((await turnsInFlight(replica)) > 0) busy.push(index);
      return busy.length > 0 ? busy[Math.floor(Math.random() * busy.length)] : undefined;
    };
    // After a fault: every user connected again, and every user answered since (the service works again).
    const settle = async () => {
      const since = Date.now();
      const faultAt = faults.at(-1)?.at ?? since;
      progress('waiting for every user to be back and answered');
      await waitFor(() => users.every((u) => u.outages.every((o) => o.backAt !== undefined)), {
        timeoutMs: 30_000,
        what: 'every user to be connected again',
      });
      const answeredSince = (u: SimulatedUser) => u.sent.some((m) => (m.answeredAt ?? 0) > since);
      await waitFor(() => users.every(answeredSince), {
        timeoutMs: 60_000,
        what: 'every user to have an answer since the fault',
      }).catch(async (error: Error) => {
        // Who is still waiting, on which message, and what the service stored for it.
        const waiting = users
          .filter((u) => !answeredSince(u))
          .map((u) => {
            const last = u.sent.at(-1);
            const replies = [...u.stored.values()].filter(
              (m) => last?.messageId !== undefined && m.replyTo === last.messageId,
            );
            return {
              user: u.userId,
              session: u.sessionId,
              failure: u.failure,
              outagesSinceTheFault: u.outages.filter((o) => o.lostAt >= faultAt),
              last,
              replies: replies.map((m) => ({ id: m.id, status: m.status })),
            };
          });
        const stored = await storedState(waiting.map((w) => w.last?.messageId).filter((id) => id !== undefined));
        const detail = `${error.message}; still waiting: ${JSON.stringify(waiting).slice(0, 4000)}; in the database: ${JSON.stringify(stored).slice(0, 6000)}`;
        // On the suite's output too: a report cut to its head and tail still shows it.
        progress(detail);
        try {
          const logs = replicaLogsAbout(
            waiting.map((w) => w.session).filter((id) => id !== undefined),
            faultAt - 30_000,
          );
          progress(`replica logs about those sessions since 30 s before the fault:\n${logs.join('\n')}`);
        } catch (readError) {
          progress(`replica logs not read: ${String(readError)}`);
        }
        throw new Error(detail);
      });
    };

    for (let k = 0; k < KILLS; k++) {
      const index = await waitFor(streamingReplica, { timeoutMs: 10_000, what: 'a replica streaming a reply' });
      const victim = replicas[index];
      victim.ended = true;
      fault(`kill -9 replica ${index}`);
      await victim.process.stop();
      // Restarted as a pod is, while its users come back through the other two; it is up before the next kill.
      const restarted = startReplica(index, victim.port);
      // A failed boot is reported by the await below, after the settle.
      restarted.catch(() => undefined);
      await settle();
      await restarted;
    }
    for (let r = 0; r < 2; r++) {
      fault('Redis restart');
      await redis.stop();
      redis = await startRedisServer({ port: redis.port });
      await settle();
    }
    for (let r = 0; r < DATABASE_RESTARTS; r++) {
      fault('database restart');
      await db.kill();
      await db.start();
      await settle();
    }
    for (let index = 0; index < REPLICAS; index++) {
      const replica = replicas[index];
      replica.ended = true;
      fault(`rolling restart of replica ${index}`);
      replica.process.signal('SIGTERM');
      const code = await replica.process.exited;
      // Its last words, when it did not drain cleanly.
      expect({ code, log: code === 0 ? '' : replica.process.stdout.slice(-4000) }).toEqual({ code: 0, log: '' });
      await startReplica(index, replica.port);
      await settle();
    }
    await Promise.all(users.map((u) => u.stop()));

    // Judged from what the service stored (read through the balancer) and what each client saw.
    let acknowledged = 0;
    let lost = 0;
    let duplicated = 0;
    let unanswered = 0;
    let answeredTwice = 0;
    let interruptedThenAnswered = 0;
    let doubleTerminals = 0;
    /** Which replies a client saw end more than once, with the events in the order seen (to explain a failure). */
    const doubleTerminalReplies: string[] = [];
    for (const user of users) {
      const stored = await transcript(user);
      const userMessages = stored.filter((m) => m.sender === 'user');
      const contents = new Map<string, number>();
      for (const m of userMessages) contents.set(m.content ?? '', (contents.get(m.content ?? '') ?? 0) + 1);
      duplicated += [...contents.values()].filter((n) => n > 1).length;
      for (const sent of user.sent.filter((m) => m.messageId !== undefined)) {
        acknowledged++;
        if (!userMessages.some((m) => m.id === sent.messageId && m.content === sent.content)) lost++;
        const replies = stored.filter((m) => m.sender === 'ai' && m.replyTo === sent.messageId);
        const complete = replies.filter((m) => m.status === 'complete');
        if (complete.length === 0) unanswered++;
        if (complete.length > 1) answeredTwice++;
        if (complete.length === 1 && replies.some((m) => m.status === 'interrupted')) interruptedThenAnswered++;
        for (const reply of complete) {
          if (reply.content !== `Answer to «${sent.content}», in a few words.`) answeredTwice++;
        }
      }
      for (const [messageId, events] of user.terminals) {
        if (events.length < 2) continue;
        doubleTerminals++;
        doubleTerminalReplies.push(`${user.userId} ${messageId}: ${events.join(', ')}`);
      }
    }

    const recoveries: number[] = [];
    // Each fault on its own: a fault that brought few clients back is not hidden among the others.
    let worstFault: { name: string; backWithin10s: number } | undefined;
    for (const [i, fault] of faults.entries()) {
      const end = faults[i + 1]?.at ?? Date.now();
      const own: number[] = [];
      for (const user of users) {
        for (const outage of user.outages.filter((o) => o.lostAt >= fault.at && o.lostAt < end)) {
          own.push(outage.backAt === undefined ? Number.MAX_SAFE_INTEGER : outage.backAt - outage.lostAt);
        }
      }
      recoveries.push(...own);
      const share = own.length === 0 ? 1 : own.filter((ms) => ms <= RECOVERY_MS).length / own.length;
      if (own.length > 0 && (!worstFault || share < worstFault.backWithin10s)) {
        worstFault = { name: `${fault.name} (#${i + 1})`, backWithin10s: share };
      }
    }
    const within = recoveries.filter((ms) => ms <= RECOVERY_MS).length;
    const sorted = [...recoveries].sort((a, b) => a - b);
    const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    const figures = {
      users: USERS,
      faults: faults.length,
      acknowledged,
      lost,
      duplicated,
      unanswered,
      answeredTwice,
      interruptedThenAnswered,
      doubleTerminals,
      doubleTerminalReplies,
      reconnects: recoveries.length,
      backWithin10s: recoveries.length === 0 ? 1 : within / recoveries.length,
      worstFault,
      reconnectP50Ms: p(0.5),
      reconnectP99Ms: p(0.99),
      crashes: crashes.length,
    };
    process.stdout.write(`\nfault suite figures: ${JSON.stringify(figures, null, 2)}\n`);

    expect(crashes).toEqual([]);
    expect(users.flatMap((u) => (u.failure ? [`${u.userId}: ${u.failure}`] : []))).toEqual([]);
    expect(acknowledged).toBeGreaterThan(USERS * 5);
    expect({ lost, duplicated, unanswered, answeredTwice, doubleTerminals }).toEqual({
      lost: 0,
      duplicated: 0,
      unanswered: 0,
      answeredTwice: 0,
      doubleTerminals: 0,
    });
    expect(recoveries.length).toBeGreaterThan(0);
    expect(worstFault?.backWithin10s ?? 1).toBeGreaterThanOrEqual(0.99);
  });
});
