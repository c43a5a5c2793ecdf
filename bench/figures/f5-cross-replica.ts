import { KINDS, Kind, ServerUnderTest } from '../context';
import { distribution, Distribution, median } from '../lib/stats';
import type { Row } from '../report/results';
import { Figure, round } from './figure';

interface Run {
  frames: Distribution;
  ends: Distribution;
  errors: Record<string, number>;
  /** Chatbox only: replies each replica stored (the one that produced them), by `near` and `far`. */
  producedBy?: { near: number; far: number };
}

/** Replies a Chatbox replica stored, or 0 for the baseline (it always relays on the sender's server). */
const storedReplies = async (server: ServerUnderTest) =>
  server.kind === 'chatbox' ? server.replica.metricTotal('chatbox_ai_turns_total') : 0;

/**
 * Figure 5: a user with one device on each of two replicas (one Redis); the reply is produced on the
 * replica of the device that sent. Per frame: arrival on the other replica's device minus arrival on the
 * sender's. The baseline is two bare Socket.IO servers on the same Redis adapter.
 */
export const crossReplica: Figure = {
  id: 'f5',
  title: 'Cross-replica delivery',
  async run(ctx, log) {
    const { users, turns, tokens, tokensPerSecond } = ctx.plan.crossReplica;
    const pairs: Record<Kind, [ServerUnderTest, ServerUnderTest]> = {
      baseline: [
        await ctx.startBaseline('f5-baseline-a', { redis: true }),
        await ctx.startBaseline('f5-baseline-b', { redis: true }),
      ],
      chatbox: await (async () => {
        const a = await ctx.startChatbox('f5-chatbox-a');
        return [a, await ctx.startChatbox('f5-chatbox-b', a)] as [ServerUnderTest, ServerUnderTest];
      })(),
    };
    const client = await ctx.startLoadClient('f5-client');
    const runs: Record<Kind, Run[]> = { baseline: [], chatbox: [] };
    try {
      for (let rep = 1; rep <= ctx.plan.repeats; rep++) {
        for (const kind of KINDS) {
          const [near, far] = pairs[kind];
          await log.quietStep(`${kind} rep ${rep}`);
          const before = await Promise.all([near, far].map(storedReplies));
          const result = await client.rpc.call('crossReplica', {
            near: near.target,
            far: far.target,
            userPrefix: `f5-${rep}`,
            users,
            turns,
            tokens,
            tokensPerSecond,
          });
          const after = await Promise.all([near, far].map(storedReplies));
          const run: Run = {
            frames: distribution(result.deltaMs),
            ends: distribution(result.endMs),
            errors: result.errors,
          };
          if (kind === 'chatbox') run.producedBy = { near: after[0] - before[0], far: after[1] - before[1] };
          runs[kind].push(run);
          log.log(
            `${kind} rep ${rep}: ${run.frames.n} frames, added p50 ${run.frames.p50.toFixed(2)} ms ` +
              `p99 ${run.frames.p99.toFixed(2)} ms; errors ${JSON.stringify(result.errors)}` +
              (run.producedBy ? `; replies produced near ${run.producedBy.near}, far ${run.producedBy.far}` : ''),
          );
        }
      }
    } finally {
      await client.process.stop();
      for (const server of [...pairs.baseline, ...pairs.chatbox]) await server.stop();
    }
    const pick = (kind: Kind, f: (run: Run) => number) => round(median(runs[kind].map(f)), 3);
    const far = runs.chatbox.reduce((sum, r) => sum + (r.producedBy?.far ?? 0), 0);
    const all = runs.chatbox.reduce((sum, r) => sum + (r.producedBy ? r.producedBy.near + r.producedBy.far : 0), 0);
    const row = (p: 'p50' | 'p99', limit?: number): Row => ({
      figure: `5. cross-replica delivery, added over same-replica, ${p}`,
      unit: 'ms',
      baseline: pick('baseline', (r) => r.frames[p]),
      chatbox: pick('chatbox', (r) => r.frames[p]),
      target: limit === undefined ? undefined : { kind: 'chatbox-max', value: limit },
      details:
        `${runs.chatbox[0]?.frames.n ?? 0} frames per run (${far} of ${all} Chatbox replies produced on the far replica); ` +
        `reply end ${p}: bare ` +
        `${pick('baseline', (r) => r.ends[p])} ms, Chatbox ${pick('chatbox', (r) => r.ends[p])} ms`,
    });
    return { rows: [row('p50'), row('p99', 10)], raw: runs };
  },
};
