import { BenchContext, KINDS, Kind, ServerUnderTest } from '../context';
import type { FirstTokenSample } from '../load/turn-scenarios';
import { distribution, Distribution, median } from '../lib/stats';
import type { Row } from '../report/results';
import { Figure, FigureLog, round } from './figure';

const DB_COMMANDS = 'chatbox_db_commands_total';

interface Run {
  sequential: Distribution;
  concurrent: Distribution;
  errors: Record<string, number>;
  /** Chatbox only: database commands per turn over the sequential turns, by command. */
  dbCommandsPerTurn?: Record<string, number>;
}

/** Time added by the server: client-observed send → first frame, less the upstream's own time to its first token. */
async function addedMs(ctx: BenchContext, samples: FirstTokenSample[]): Promise<number[]> {
  const upstream = await ctx.upstream.rpc.call(
    'firstChunks',
    samples.map((s) => s.id),
  );
  return samples.filter((s) => upstream[s.id] !== undefined).map((s) => s.ms - upstream[s.id]);
}

/** Database commands Chatbox counted (by command), or undefined when it does not export the counter. */
async function dbCommands(server: ServerUnderTest): Promise<Map<string, number> | undefined> {
  if (server.kind !== 'chatbox') return undefined;
  const samples = await server.replica.metric(DB_COMMANDS);
  return samples.size ? samples : undefined;
}

function perTurn(before: Map<string, number>, after: Map<string, number>, turns: number): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [labels, value] of after) {
    const name = /command="([^"]*)"/.exec(labels)?.[1] ?? labels;
    result[name] = (result[name] ?? 0) + (value - (before.get(labels) ?? 0)) / turns;
  }
  return result;
}

async function measure(ctx: BenchContext, log: FigureLog, kind: Kind, rep: number): Promise<Run> {
  const { sequential, concurrentUsers, concurrentMs, meanPauseMs, tokens } = ctx.plan.firstToken;
  const server = await ctx.startServer(kind, `f3-${kind}-${rep}`);
  const client = await ctx.startLoadClient(`f3-client-${kind}-${rep}`);
  try {
    const target = server.target;
    // Warms up the server's code paths and its connection to the upstream; not counted.
    await client.rpc.call('firstTokens', {
      target,
      userPrefix: `f3w-${rep}`,
      users: 1,
      turns: 5,
      meanPauseMs: 0,
      tokens,
    });
    await log.quietStep(`${kind} rep ${rep}`);
    const before = await dbCommands(server);
    const one = await client.rpc.call('firstTokens', {
      target,
      userPrefix: `f3s-${rep}`,
      users: 1,
      turns: sequential,
      meanPauseMs: 0,
      tokens,
    });
    const after = await dbCommands(server);
    const many = await client.rpc.call('firstTokens', {
      target,
      userPrefix: `f3c-${rep}`,
      users: concurrentUsers,
      durationMs: concurrentMs,
      meanPauseMs,
      tokens,
    });
    const run: Run = {
      sequential: distribution(await addedMs(ctx, one.samples)),
      concurrent: distribution(await addedMs(ctx, many.samples)),
      errors: { ...one.errors, ...many.errors },
    };
    if (before && after) run.dbCommandsPerTurn = perTurn(before, after, one.samples.length);
    log.log(
      `${kind} rep ${rep}: sequential p50 ${run.sequential.p50.toFixed(2)} ms p99 ${run.sequential.p99.toFixed(2)} ms, ` +
        `${concurrentUsers} at once p50 ${run.concurrent.p50.toFixed(2)} ms p99 ${run.concurrent.p99.toFixed(2)} ms`,
    );
    return run;
  } finally {
    await client.process.stop();
    await server.stop();
  }
}

/** Figure 3, and the database operations per turn (read around the sequential turns). */
export const firstToken: Figure = {
  id: 'f3',
  title: 'Time added to the first token',
  async run(ctx, log) {
    const runs: Record<Kind, Run[]> = { baseline: [], chatbox: [] };
    for (let rep = 1; rep <= ctx.plan.repeats; rep++) {
      for (const kind of KINDS) runs[kind].push(await measure(ctx, log, kind, rep));
    }
    const pick = (kind: Kind, f: (run: Run) => number) => round(median(runs[kind].map(f)), 3);
    const { concurrentUsers, meanPauseMs } = ctx.plan.firstToken;
    const row = (label: string, p: 'p50' | 'p99', which: 'sequential' | 'concurrent', limit: number): Row => ({
      figure: `3. time added to the first token, ${label}, ${p}`,
      unit: 'ms',
      baseline: pick('baseline', (r) => r[which][p]),
      chatbox: pick('chatbox', (r) => r[which][p]),
      target: { kind: 'chatbox-max', value: limit },
      details: `n=${runs.chatbox[0]?.[which].n ?? 0} per run`,
    });
    const dbRuns = runs.chatbox.map((r) => r.dbCommandsPerTurn).filter((r): r is Record<string, number> => !!r);
    const commands = [...new Set(dbRuns.flatMap((r) => Object.keys(r)))].sort();
    const byCommand = commands
      .map((c) => `${c} ${median(dbRuns.map((r) => r[c]))?.toFixed(2)}`)
      .filter((text) => !text.endsWith(' 0.00'));
    const dbRow: Row = {
      figure: 'database operations per turn (its user message included)',
      unit: 'commands',
      optional: true,
      chatbox: round(median(dbRuns.map((r) => Object.values(r).reduce((a, b) => a + b, 0))), 2),
      details: byCommand.length
        ? `${byCommand.join(', ')}; the floor is 3 (store the message, store the reply, one bounded history read)`
        : undefined,
      missing: dbRuns.length ? undefined : `not available: Chatbox exports no ${DB_COMMANDS}`,
    };
    return {
      rows: [
        row('1 user sequentially', 'p50', 'sequential', 1),
        row('1 user sequentially', 'p99', 'sequential', 5),
        row(`${concurrentUsers} users at once (a message each per ${meanPauseMs / 1000} s)`, 'p50', 'concurrent', 1),
        row(`${concurrentUsers} users at once (a message each per ${meanPauseMs / 1000} s)`, 'p99', 'concurrent', 5),
        dbRow,
      ],
      raw: runs,
    };
  },
};
