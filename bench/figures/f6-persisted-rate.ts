import { BenchContext, KINDS, Kind } from '../context';
import type { WindowStats } from '../load/window';
import { median } from '../lib/stats';
import { delay } from '../lib/wait';
import type { Row } from '../report/results';
import { Figure, FigureLog, round } from './figure';

interface Run {
  /** Bare: echo acks per second. Chatbox: the lower of acks and ended replies per second (see below). */
  messagesPerSecond: number;
  acksPerSecond: number;
  turnsPerSecond: number;
  /** CPU seconds per acknowledged message, by process role. */
  cpuMsPerMessage: Record<string, number>;
  window: WindowStats;
}

async function measure(ctx: BenchContext, log: FigureLog, kind: Kind, rep: number): Promise<Run> {
  const { users, warmupMs, windowMs, maxUnanswered, tokens } = ctx.plan.sendRate;
  const server = await ctx.startServer(kind, `f6-${kind}-${rep}`);
  if (server.kind === 'baseline') await server.rpc.call('setMode', 'echo');
  const client = await ctx.startLoadClient(`f6-client-${kind}-${rep}`);
  try {
    await log.quietStep(`${kind} rep ${rep}`);
    await client.rpc.call('startSending', {
      target: server.target,
      userPrefix: `f6-${rep}`,
      users,
      expectReplies: kind === 'chatbox',
      maxUnanswered,
      tokens,
    });
    // Measured after a warm-up: connections made, code paths compiled, queues filled.
    await delay(warmupMs);
    const from = ctx.meter.sample(server.cpuGroups());
    await client.rpc.call('windowStart');
    await delay(windowMs);
    const window = await client.rpc.call('windowStop');
    const usage = ctx.meter.between(from, ctx.meter.sample(server.cpuGroups()));
    log.window(usage);
    await client.rpc.call('stopSending');
    // A user may have only a couple of messages waiting for their reply, so acks can run ahead of the
    // replies only briefly: a message counts once it is stored, acknowledged and answered.
    const messages = kind === 'chatbox' ? Math.min(window.acks, window.turnsEnded) : window.acks;
    const cpuMsPerMessage = Object.fromEntries(
      Object.entries(usage.cpuSeconds).map(([role, seconds]) => [role, (seconds * 1000) / Math.max(1, messages)]),
    );
    const run = {
      messagesPerSecond: messages / window.seconds,
      acksPerSecond: window.acks / window.seconds,
      turnsPerSecond: window.turnsEnded / window.seconds,
      cpuMsPerMessage,
      window,
    };
    log.log(
      `${kind} rep ${rep}: ${run.acksPerSecond.toFixed(1)} acks/s, ${run.turnsPerSecond.toFixed(1)} replies/s, ` +
        `ack p50 ${window.ackMs.p50.toFixed(1)} ms, errors ${JSON.stringify(window.errors)}`,
    );
    return run;
  } finally {
    await client.process.stop();
    await server.stop();
  }
}

/** Figure 6: messages stored and acknowledged per second (each with its AI reply) vs bare echo acks. */
export const persistedRate: Figure = {
  id: 'f6',
  title: 'Persisted-and-acknowledged messages per second',
  async run(ctx, log) {
    const runs: Record<Kind, Run[]> = { baseline: [], chatbox: [] };
    for (let rep = 1; rep <= ctx.plan.repeats; rep++) {
      for (const kind of KINDS) runs[kind].push(await measure(ctx, log, kind, rep));
    }
    const med = (kind: Kind, f: (run: Run) => number | undefined) => median(runs[kind].map(f));
    const cpu = (kind: Kind, role: string) => med(kind, (r) => r.cpuMsPerMessage[role]);
    const c = runs.chatbox;
    const errors = c.reduce((sum, r) => sum + Object.values(r.window.errors).reduce((a, b) => a + b, 0), 0);
    const details =
      `${ctx.plan.sendRate.users} users; Chatbox acks ${med('chatbox', (r) => r.acksPerSecond)?.toFixed(1)}/s, ` +
      `replies ${med('chatbox', (r) => r.turnsPerSecond)?.toFixed(1)}/s, ` +
      `ack p50/p99 ${med('chatbox', (r) => r.window.ackMs.p50)?.toFixed(1)}/${med('chatbox', (r) => r.window.ackMs.p99)?.toFixed(1)} ms, ` +
      `${errors} refused; CPU per message: Chatbox node ${cpu('chatbox', 'server')?.toFixed(2)} ms, ` +
      `database ${cpu('chatbox', 'database')?.toFixed(2)} ms, Redis ${cpu('chatbox', 'redis')?.toFixed(2)} ms; ` +
      `bare echo ${((cpu('baseline', 'server') ?? NaN) * 1000).toFixed(0)} µs`;
    const row: Row = {
      figure: '6. persisted-and-acknowledged messages/s (bare: echo acks/s)',
      unit: 'msg/s',
      baseline: round(
        med('baseline', (r) => r.messagesPerSecond),
        1,
      ),
      chatbox: round(
        med('chatbox', (r) => r.messagesPerSecond),
        1,
      ),
      target: { kind: 'ratio-min', value: 0.5 },
      details,
    };
    return { rows: [row], raw: runs };
  },
};
