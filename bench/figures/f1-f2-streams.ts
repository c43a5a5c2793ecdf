import { BenchContext, KINDS, Kind } from '../context';
import { median } from '../lib/stats';
import { delay } from '../lib/wait';
import type { Row } from '../report/results';
import { Figure, FigureLog, round } from './figure';

interface Window {
  seconds: number;
  tokens: number;
  frames: number;
  latenessP50Ms: number;
  latenessP99Ms: number;
  cpuSeconds: Record<string, number>;
  /** How late the upstream itself wrote tokens (the whole machine's load shows here too). */
  upstreamLagP99Ms: number;
  /** Streams the server cut while measured, and other refusals the client saw. */
  errors: Record<string, number>;
}

interface Step {
  k: number;
  streams: number;
  rampMs: number;
  rampErrors: Record<string, number>;
  windows: Window[];
  cpuUsPerToken: Record<string, number>;
  latenessP99Ms: number;
  tokensPerStreamPerSecond: number;
  pass: boolean;
}

interface Staircase {
  steps: Step[];
  /** Why it stopped climbing. */
  stopped: string;
  /** Why the steps after the last one were not measured, if they were meant to be. */
  unreached?: string;
}

/** Share of the paced rate a stream must deliver to count as sustained. */
const SUSTAINED_SHARE = 0.95;

const total = (byRole: Record<string, number>) => Object.values(byRole).reduce((a, b) => a + b, 0);

async function measureStep(ctx: BenchContext, log: FigureLog, groups: () => Record<string, number[]>, client: Client) {
  const windows: Window[] = [];
  for (let i = 0; i < ctx.plan.repeats; i++) {
    const from = ctx.meter.sample(groups());
    await Promise.all([client.rpc.call('windowStart'), ctx.upstream.rpc.call('windowStart')]);
    await delay(ctx.plan.streams.windowMs);
    const [seen, upstream] = await Promise.all([client.rpc.call('windowStop'), ctx.upstream.rpc.call('windowStop')]);
    const usage = ctx.meter.between(from, ctx.meter.sample(groups()));
    log.window(usage);
    windows.push({
      seconds: seen.seconds,
      tokens: seen.tokens,
      frames: seen.frames,
      latenessP50Ms: seen.latenessMs.p50,
      latenessP99Ms: seen.latenessMs.p99,
      cpuSeconds: usage.cpuSeconds,
      upstreamLagP99Ms: upstream.lagMs.p99,
      errors: seen.errors,
    });
  }
  return windows;
}

type Client = Awaited<ReturnType<BenchContext['startLoadClient']>>;

/** Steps K up for one server, keeping the streams of the previous steps running, until a step breaks. */
async function climb(ctx: BenchContext, log: FigureLog, kind: Kind): Promise<Staircase> {
  const plan = ctx.plan.streams;
  const server = await ctx.startServer(kind, `f12-${kind}`);
  const client = await ctx.startLoadClient(`f12-client-${kind}`);
  const steps: Step[] = [];
  const deadline = Date.now() + plan.budgetMs;
  const lastCpuStep = Math.max(...plan.cpuAt);
  let stopped = `reached the largest step without breaking`;
  let unreached: string | undefined;
  let broken = false;
  let streams = 0;
  try {
    for (const k of [...new Set([...plan.steps, ...plan.cpuAt])].sort((a, b) => a - b)) {
      // Past the break, only the steps figure 1 reads are still measured.
      if (broken && k > lastCpuStep) break;
      if (broken && !plan.cpuAt.includes(k)) continue;
      const left = deadline - Date.now();
      if (left <= 0) {
        unreached = `the staircase's time budget (${plan.budgetMs / 1000} s) was spent before K=${k}`;
        stopped = broken ? stopped : unreached;
        break;
      }
      const ramp = await client.rpc.call('addStreams', {
        target: server.target,
        count: k - streams,
        userPrefix: `f12-${kind}`,
        tokensPerSecond: plan.tokensPerSecond,
        concurrency: 50,
        timeoutMs: Math.min(plan.rampTimeoutMs, left),
      });
      streams += ramp.started;
      if (ramp.failed > 0) {
        // Streams that never started leave nothing to measure at this K or above.
        const [why] = Object.entries(ramp.errors).sort((a, b) => b[1] - a[1]);
        unreached = `${ramp.failed} of ${ramp.failed + ramp.started} new streams for K=${k} did not start (${why?.[0]})`;
        log.log(`${kind} K=${k}: ${unreached}`);
        stopped = broken ? stopped : unreached;
        break;
      }
      await delay(plan.warmupMs);
      await log.quietStep(`${kind} K=${k}`);
      const windows = await measureStep(ctx, log, () => server.cpuGroups(), client);
      const roles = Object.keys(windows[0].cpuSeconds);
      const cpuUsPerToken = Object.fromEntries(
        roles.map((role) => [role, median(windows.map((w) => (w.cpuSeconds[role] * 1e6) / w.tokens)) ?? NaN]),
      );
      const latenessP99Ms = median(windows.map((w) => w.latenessP99Ms)) ?? NaN;
      const step: Step = {
        k,
        streams,
        rampMs: ramp.ms,
        rampErrors: ramp.errors,
        windows,
        cpuUsPerToken,
        latenessP99Ms,
        tokensPerStreamPerSecond: median(windows.map((w) => w.tokens / w.seconds / streams)) ?? NaN,
        pass: false,
      };
      // A stream that stalls or dies sends no late frames: its tokens going missing breaks the step too.
      const paced = step.tokensPerStreamPerSecond >= SUSTAINED_SHARE * plan.tokensPerSecond;
      step.pass = paced && latenessP99Ms <= plan.latenessLimitMs;
      steps.push(step);
      log.log(
        `${kind} K=${k}: ${streams} streams (ramp ${(ramp.ms / 1000).toFixed(1)} s, ${ramp.failed} failed), ` +
          `${total(cpuUsPerToken).toFixed(1)} µs CPU/token, lateness p99 ${latenessP99Ms.toFixed(1)} ms, ` +
          `${step.tokensPerStreamPerSecond.toFixed(1)} tokens/s per stream → ${step.pass ? 'holds' : 'BREAKS'}`,
      );
      if (!step.pass && !broken) {
        broken = true;
        stopped = paced
          ? `K=${k}: lateness p99 over the limit`
          : `K=${k}: streams delivered ${step.tokensPerStreamPerSecond.toFixed(1)} tokens/s`;
      }
    }
  } finally {
    await ctx.upstream.rpc.call('endAll');
    await client.rpc.call('closeStreams').catch(() => undefined);
    await client.process.stop();
    await server.stop();
  }
  return { steps, stopped, unreached };
}

const name = (kind: Kind) => (kind === 'baseline' ? 'bare' : 'Chatbox');

/** The largest K that held, with every smaller step holding too. */
function sustained(staircase: Staircase): number {
  let held = 0;
  for (const step of staircase.steps) {
    if (!step.pass) break;
    held = step.k;
  }
  return held;
}

/** Figures 1 and 2 from one staircase per server: CPU per relayed token at given K, and the K that holds. */
export const streams: Figure = {
  id: 'f1-f2',
  title: 'Paced 50 tokens/s streams',
  async run(ctx, log) {
    const plan = ctx.plan.streams;
    const stairs = {} as Record<Kind, Staircase>;
    for (const kind of KINDS) stairs[kind] = await climb(ctx, log, kind);
    const at = (kind: Kind, k: number) => stairs[kind].steps.find((s) => s.k === k);
    const rows: Row[] = plan.cpuAt.map((k) => {
      const b = at('baseline', k);
      const c = at('chatbox', k);
      const fmt = (v: number | undefined) => (v === undefined ? '?' : v.toFixed(1));
      const short = (['baseline', 'chatbox'] as const).filter((kind) => !at(kind, k));
      const outcome = short.length
        ? short
            .map((kind) => `${name(kind)} did not reach K=${k}: ${stairs[kind].unreached ?? stairs[kind].stopped}`)
            .join('; ')
        : undefined;
      return {
        figure: `1. server CPU per relayed token, K=${k} streams at ${plan.tokensPerSecond} tokens/s`,
        unit: 'µs',
        baseline: round(b && total(b.cpuUsPerToken), 1),
        chatbox: round(c && total(c.cpuUsPerToken), 1),
        target: { kind: 'ratio-max', value: 1.0 },
        outcome,
        unjudged: short.includes('baseline'),
        details: c
          ? `Chatbox node ${fmt(c.cpuUsPerToken.server)}, database ${fmt(c.cpuUsPerToken.database)}, ` +
            `Redis ${fmt(c.cpuUsPerToken.redis)}; frame lateness p99 bare ${fmt(b?.latenessP99Ms)} ms, Chatbox ${fmt(c.latenessP99Ms)} ms`
          : undefined,
      };
    });
    const describe = (kind: Kind) => {
      const held = sustained(stairs[kind]);
      const top = stairs[kind].steps.at(-1);
      return `${name(kind)}: ${held || '<' + plan.steps[0]} (${top && top.pass && top.k === held ? '≥; ' : ''}${stairs[kind].stopped})`;
    };
    rows.push({
      figure: `2. concurrent ${plan.tokensPerSecond} tokens/s streams with frame lateness p99 ≤ ${plan.latenessLimitMs} ms`,
      unit: 'streams',
      baseline: sustained(stairs.baseline),
      chatbox: sustained(stairs.chatbox),
      target: { kind: 'ratio-min', value: 1.0 },
      details: `${describe('baseline')}; ${describe('chatbox')}`,
    });
    return { rows, raw: stairs };
  },
};
