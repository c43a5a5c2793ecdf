import { KINDS, Kind } from '../context';
import { openFileLimit } from '../lib/proc-stat';
import { median } from '../lib/stats';
import { waitFor } from '../lib/wait';
import type { Row } from '../report/results';
import { Figure, round } from './figure';

interface Level {
  connections: number;
  rssKibPerConnection: number;
  /** Chatbox only: what Redis holds per connection (socket registry, presence). */
  redisBytesPerConnection?: number;
  connectMs: number;
}

/** Figure 4: RSS growth of the server process per idle authenticated connection, on a fresh process each time. */
export const idleMemory: Figure = {
  id: 'f4',
  title: 'Memory per idle authenticated connection',
  async run(ctx, log) {
    // The client and the server each hold one descriptor per connection, plus their own. Node.js raises
    // its soft limit to the hard one at start, so this is the hard limit unless something lowered it.
    const { soft } = openFileLimit();
    const levels = ctx.plan.memory.connections.filter((n) => n + 1000 <= soft);
    const skipped = ctx.plan.memory.connections.filter((n) => !levels.includes(n));
    const runs: Record<Kind, Level[][]> = { baseline: [], chatbox: [] };
    for (let rep = 1; rep <= ctx.plan.repeats; rep++) {
      for (const kind of KINDS) {
        await log.quietStep(`${kind} rep ${rep}`);
        const server = await ctx.startServer(kind, `f4-${kind}-${rep}`);
        const client = await ctx.startLoadClient(`f4-client-${kind}-${rep}`);
        const measured: Level[] = [];
        try {
          await ctx.settle(server.pid);
          const rss0 = ctx.rss(server.pid);
          const redis0 = kind === 'chatbox' ? await ctx.redis.usedMemory() : 0;
          let open = 0;
          for (const connections of levels) {
            const result = await client.rpc.call('connectIdle', server.target, connections - open, `f4-${rep}`);
            if (result.failed > 0)
              throw new Error(`${result.failed} connections failed: ${JSON.stringify(result.errors)}`);
            open = result.open;
            await waitFor(async () => (await server.connections()) >= connections, {
              timeoutMs: 30000,
              what: `${kind} to hold ${connections} connections`,
            });
            await ctx.settle(server.pid);
            const level: Level = {
              connections,
              rssKibPerConnection: (ctx.rss(server.pid) - rss0) / 1024 / connections,
              connectMs: result.ms,
            };
            if (kind === 'chatbox')
              level.redisBytesPerConnection = ((await ctx.redis.usedMemory()) - redis0) / connections;
            measured.push(level);
            log.log(`${kind} rep ${rep}: ${connections} connections, ${level.rssKibPerConnection.toFixed(1)} KiB each`);
          }
        } finally {
          await client.rpc.call('closeIdle').catch(() => undefined);
          await client.process.stop();
          await server.stop();
        }
        runs[kind].push(measured);
      }
    }
    const at = (kind: Kind, connections: number, pick: (l: Level) => number | undefined) =>
      median(
        runs[kind]
          .map((levelsOfRun) => levelsOfRun.find((l) => l.connections === connections))
          .map((l) => l && pick(l)),
      );
    const rows: Row[] = levels.map((connections) => {
      const redis = at('chatbox', connections, (l) => l.redisBytesPerConnection);
      return {
        figure: `4. memory per idle authenticated connection, ${connections / 1000}k connections`,
        unit: 'KiB',
        baseline: round(
          at('baseline', connections, (l) => l.rssKibPerConnection),
          1,
        ),
        chatbox: round(
          at('chatbox', connections, (l) => l.rssKibPerConnection),
          1,
        ),
        target: { kind: 'ratio-max', value: 1.5 },
        details: `server RSS growth; Chatbox's Redis holds ${redis === undefined ? '?' : Math.round(redis)} B per connection more`,
      };
    });
    for (const connections of skipped) {
      rows.push({
        figure: `4. memory per idle authenticated connection, ${connections / 1000}k connections`,
        unit: 'KiB',
        target: { kind: 'ratio-max', value: 1.5 },
        missing: `open-file limit ${soft} is too low (raise the hard limit, ulimit -Hn)`,
      });
    }
    return { rows, raw: { levels, runs } };
  },
};
