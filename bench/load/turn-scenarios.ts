import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { mapLimit } from '../lib/stats';
import { ChatConnection, ErrorTally, Target } from './chat-connection';

const TURN_TIMEOUT_MS = 60000;

export interface FirstTokenOptions {
  target: Target;
  userPrefix: string;
  users: number;
  /** Each user's turns: this many, or as many as start within `durationMs`. */
  turns?: number;
  durationMs?: number;
  /** Each user pauses a random 0–2× this long before each message (0: back to back). */
  meanPauseMs: number;
  tokens: number;
}

export interface FirstTokenSample {
  /** The request id the upstream knows the message by. */
  id: string;
  /** `message:send` emitted → first `ai:delta` received, in this process (ms). */
  ms: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Users each sending one message at a time: the next one only after the reply to the last ended. */
export async function firstTokens(options: FirstTokenOptions) {
  const errors = new ErrorTally();
  const connections = await mapLimit(Array.from({ length: options.users }), 50, (_, i) =>
    ChatConnection.open(options.target, `${options.userPrefix}-${i}`),
  );
  const samples: FirstTokenSample[] = [];
  const turn = async (connection: ChatConnection) => {
    const id = randomUUID();
    const first = connection.next(['ai:delta'], TURN_TIMEOUT_MS);
    const end = connection.next(['ai:end', 'ai:error'], TURN_TIMEOUT_MS);
    const sentAt = performance.now();
    try {
      await connection.send(id, `id=${id} n=${options.tokens} rate=0`);
      samples.push({ id, ms: (await first) - sentAt });
      await end;
    } catch (error) {
      errors.add(error);
    }
  };
  try {
    await Promise.all(connections.map((c) => c.startSession()));
    // From when every user is in a session: starting 50 may take longer than a quick run's whole window.
    const until = Date.now() + (options.durationMs ?? Infinity);
    await Promise.all(
      connections.map(async (connection) => {
        for (let done = 0; done < (options.turns ?? Infinity) && Date.now() < until; done++) {
          // Paces the users (they talk at random moments), as the upstream paces its tokens.
          if (options.meanPauseMs > 0) await pause(Math.random() * 2 * options.meanPauseMs);
          await turn(connection);
        }
      }),
    );
  } finally {
    for (const connection of connections) connection.close();
  }
  return { samples, errors: errors.counts };
}

export interface CrossReplicaOptions {
  /** Where the sending device is (the reply is produced there) and where the other device is. */
  near: Target;
  far: Target;
  userPrefix: string;
  users: number;
  turns: number;
  tokens: number;
  tokensPerSecond: number;
}

/**
 * Each user has one device on each replica in the same session; the near one sends. For every frame
 * (and every reply's end) both devices received, the far device's arrival minus the near one's.
 */
export async function crossReplica(options: CrossReplicaOptions) {
  const errors = new ErrorTally();
  const deltaMs: number[] = [];
  const endMs: number[] = [];
  await mapLimit(Array.from({ length: options.users }), options.users, async (_, i) => {
    const userId = `${options.userPrefix}-${i}`;
    let near: ChatConnection | undefined;
    let far: ChatConnection | undefined;
    try {
      near = await ChatConnection.open(options.near, userId);
      far = await ChatConnection.open(options.far, userId);
      const sessionId = await near.startSession();
      far.sessionId = sessionId;
      await far.call('session:resume', { sessionId });
      const arrivals = new Map<string, { near?: number; far?: number }>();
      const record = (side: 'near' | 'far', key: string) => {
        const entry = arrivals.get(key) ?? {};
        entry[side] = performance.now();
        arrivals.set(key, entry);
      };
      for (const [side, device] of [
        ['near', near],
        ['far', far],
      ] as const) {
        device.socket.on('ai:delta', (f: { messageId: string; index: number }) =>
          record(side, `${f.messageId}:${f.index}`),
        );
        device.socket.on('ai:end', (f: { messageId: string }) => record(side, `${f.messageId}:end`));
      }
      for (let turn = 0; turn < options.turns; turn++) {
        const ends = [near, far].map((device) => device.next(['ai:end', 'ai:error'], TURN_TIMEOUT_MS));
        const id = randomUUID();
        await near.send(id, `id=${id} n=${options.tokens} rate=${options.tokensPerSecond}`);
        await Promise.all(ends);
      }
      for (const [key, { near: a, far: b }] of arrivals) {
        if (a === undefined || b === undefined) continue;
        (key.endsWith(':end') ? endMs : deltaMs).push(b - a);
      }
    } catch (error) {
      errors.add(error);
    } finally {
      near?.close();
      far?.close();
    }
  });
  return { deltaMs, endMs, errors: errors.counts };
}
