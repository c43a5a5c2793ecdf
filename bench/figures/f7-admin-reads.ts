import { performance } from 'node:perf_hooks';
import { BenchContext, ChatboxUnderTest } from '../context';
import { signToken } from '../load/chat-connection';
import { SeededHistory, seedHistory } from '../load/history-seed';
import { rssBytes } from '../lib/proc-stat';
import { median } from '../lib/stats';
import { waitFor } from '../lib/wait';
import type { Row } from '../report/results';
import { Figure, FigureLog, round } from './figure';

const SORTS = ['startedAt', 'lastActivityAt', 'durationMs', 'userId', 'messageCount', 'totalTokens'] as const;
const DAY_MS = 86_400_000;
const MIB = 1024 * 1024;

/** One request, timed as the client sees it (to the last byte of the answer), with the server side's CPU. */
interface Timing {
  ms: number;
  cpuMs: Record<string, number>;
  /** The metrics requests only: the server's RSS before, at the highest while answering, and after. */
  rss?: { before: number; peak: number; after: number };
}

interface Probe {
  key: string;
  label: string;
  path: string;
  /** What the answer says about the work done, for the notes. */
  describe?: (body: Answer) => string;
  watchMemory?: boolean;
}

interface Answer {
  /** The list's page, or a user's sessions started. */
  sessions?: unknown[] | { started: number };
  nextCursor?: string | null;
  total?: number;
  totals?: { messages: Record<string, number>; sessions: { started: number } };
  buckets?: unknown[];
  messages?: Record<string, number>;
}

const pageLength = (body: Answer) => (Array.isArray(body.sessions) ? body.sessions.length : 0);
const sum = (counts: Record<string, number> | undefined) => Object.values(counts ?? {}).reduce((a, b) => a + b, 0);
const thousands = (n: number) => (n >= 1000 ? `${n / 1000}k` : String(n));

class AdminClient {
  private readonly token: string;

  constructor(
    private readonly ctx: BenchContext,
    private readonly server: ChatboxUnderTest,
  ) {
    this.token = signToken(ctx.secrets.jwtSecret, 'bench-admin', { roles: ['admin'] });
  }

  async get(path: string): Promise<{ ms: number; body: Answer }> {
    const started = performance.now();
    const res = await fetch(`${this.server.target.url}/chatbox${path}`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    const text = await res.text();
    const ms = performance.now() - started;
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    return { ms, body: JSON.parse(text) as Answer };
  }

  async timed(probe: Probe): Promise<{ timing: Timing; body: Answer }> {
    const groups = this.server.cpuGroups();
    const pid = this.server.pid;
    const before = probe.watchMemory ? this.ctx.rss(pid) : 0;
    let peak = before;
    // Polled from /proc while the answer is computed: the highest RSS, not only what is left after it.
    const watch = probe.watchMemory ? setInterval(() => (peak = Math.max(peak, rssBytes(pid) ?? 0)), 5) : undefined;
    const from = this.ctx.meter.sample(groups);
    try {
      const { ms, body } = await this.get(probe.path);
      const usage = this.ctx.meter.between(from, this.ctx.meter.sample(groups));
      const cpuMs = Object.fromEntries(Object.entries(usage.cpuSeconds).map(([role, s]) => [role, s * 1000]));
      const timing: Timing = { ms, cpuMs };
      if (probe.watchMemory) {
        const after = this.ctx.rss(pid);
        timing.rss = { before, peak: Math.max(peak, after), after };
      }
      return { timing, body };
    } finally {
      clearInterval(watch);
    }
  }
}

/** Waits (at most 60 s) for the database to finish what the seeding started (index upkeep, autovacuum). */
async function settleDatabase(ctx: BenchContext, log: FigureLog): Promise<void> {
  const pids = ctx.database.pids();
  if (!pids.length) return;
  await waitFor(
    async () => {
      const usage = await ctx.meter.measure({ database: pids }, 1000);
      return usage.cpuSeconds.database / usage.seconds <= 0.1;
    },
    { timeoutMs: 60000, intervalMs: 0, what: 'the database to settle after seeding' },
  ).catch((error: unknown) => log.log(`measuring anyway: ${error instanceof Error ? error.message : String(error)}`));
}

function probes(ctx: BenchContext, seeded: SeededHistory, deepCursor: string): Probe[] {
  const { pageSize, deepPage } = ctx.plan.adminReads;
  const size = `${thousands(seeded.sessions)} sessions`;
  const to = new Date(seeded.endsAt);
  const since = (days: number) => new Date(seeded.endsAt - days * DAY_MS).toISOString();
  const range = (days: number) => `from=${since(days)}&to=${to.toISOString()}`;
  const counted = ({ totals, buckets }: Answer) =>
    `${sum(totals?.messages)} messages, ${totals?.sessions.started} sessions started, ${buckets?.length} buckets`;
  return [
    ...SORTS.map((sort): Probe => ({
      key: `sort-${sort}`,
      label: `GET /admin/sessions, first ${pageSize}, sort=${sort} (${size})`,
      path: `/admin/sessions?limit=${pageSize}&sort=${sort}`,
    })),
    {
      key: 'deep',
      label: `GET /admin/sessions, page ${deepPage} by nextCursor, sort=lastActivityAt (${size})`,
      path: `/admin/sessions?limit=${pageSize}&cursor=${encodeURIComponent(deepCursor)}`,
    },
    {
      key: 'total',
      label: `GET /admin/sessions, first ${pageSize} withTotal=true (${size})`,
      path: `/admin/sessions?limit=${pageSize}&withTotal=true`,
      describe: (body) => `total ${body.total}`,
    },
    {
      key: 'filter',
      label: `GET /admin/sessions, first ${pageSize} of status=active&owner=admin (${size})`,
      path: `/admin/sessions?limit=${pageSize}&status=active&owner=admin`,
      describe: (body) => `${pageLength(body)} of the ${seeded.heldSessions} active sessions held`,
    },
    {
      key: 'metrics-1d',
      label: `GET /admin/metrics, 1 day by hour (${size}, ${thousands(seeded.messages)} messages)`,
      path: `/admin/metrics?${range(1)}&bucket=hour`,
      describe: counted,
      watchMemory: true,
    },
    {
      key: 'metrics-30d',
      label: `GET /admin/metrics, ${ctx.plan.adminReads.days} days by day (${size}, ${thousands(seeded.messages)} messages)`,
      path: `/admin/metrics?${range(ctx.plan.adminReads.days)}&bucket=day`,
      describe: counted,
      watchMemory: true,
    },
    {
      key: 'user-usage',
      label: `GET /admin/users/:userId/usage, ${ctx.plan.adminReads.days} days, the heaviest user`,
      path: `/admin/users/${seeded.heaviestUser.userId}/usage?${range(ctx.plan.adminReads.days)}`,
      describe: (body) =>
        `${Array.isArray(body.sessions) ? '?' : body.sessions?.started} sessions, ${sum(body.messages)} messages`,
    },
  ];
}

/**
 * Figure 7: the administrators' read routes (session list, usage metrics, one user's usage) over a
 * history seeded into Chatbox's own database: Chatbox alone, as bare Socket.IO has nothing to compare.
 */
export const adminReads: Figure = {
  id: 'f7',
  title: "Administrators' reads over a seeded history",
  async run(ctx, log) {
    const plan = ctx.plan.adminReads;
    await log.quietStep('start');
    const server = await ctx.startChatbox('f7-chatbox');
    try {
      log.log(`seeding ${plan.sessions} sessions and ${plan.messages} messages over ${plan.days} days…`);
      const seeded = await seedHistory(ctx.database.uriFor(server.database), plan);
      log.log(
        `seeded in ${seeded.seconds.toFixed(1)} s: ${seeded.activeSessions} active (${seeded.heldSessions} held), ` +
          `${seeded.takeovers} takeovers, ${seeded.samples} concurrency samples, messages ${JSON.stringify(seeded.bySender)}; ` +
          `heaviest user ${seeded.heaviestUser.userId}: ${seeded.heaviestUser.sessions} sessions, ${seeded.heaviestUser.messages} messages`,
      );
      await settleDatabase(ctx, log);
      await ctx.settle(server.pid);

      const client = new AdminClient(ctx, server);
      // Walking the list to the deep page is the warm-up (connections made, code paths compiled): on
      // FerretDB every later request costs seconds, and an untimed round of them would change nothing.
      let cursor: string | null | undefined;
      for (let page = 1; page < plan.deepPage; page++) {
        const { body } = await client.get(
          `/admin/sessions?limit=${plan.pageSize}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        cursor = body.nextCursor;
        if (!cursor) throw new Error(`the list ends before page ${plan.deepPage}`);
      }
      const list = probes(ctx, seeded, cursor as string);
      const timings = new Map<string, Timing[]>(list.map((p) => [p.key, []]));
      const notes = new Map<string, string>();
      for (let rep = 1; rep <= plan.repeats; rep++) {
        await log.quietStep(`round ${rep}`);
        for (const probe of list) {
          const { timing, body } = await client.timed(probe);
          timings.get(probe.key)?.push(timing);
          if (probe.key !== 'filter' && Array.isArray(body.sessions) && pageLength(body) === 0)
            throw new Error(`${probe.path}: an empty page`);
          if (probe.describe) notes.set(probe.key, probe.describe(body));
        }
        log.log(
          `round ${rep}: ${list.map((p) => `${p.key} ${timings.get(p.key)?.at(-1)?.ms.toFixed(0)} ms`).join(', ')}`,
        );
      }
      const memory = list
        .filter((p) => p.watchMemory)
        .flatMap((p) =>
          (timings.get(p.key) ?? []).flatMap((t, i) => (t.rss ? [{ rep: i + 1, key: p.key, rss: t.rss }] : [])),
        )
        .sort((a, b) => a.rep - b.rep);

      const rows: Row[] = list.map((probe) => {
        const runs = timings.get(probe.key) ?? [];
        const cpu = (role: string) => median(runs.map((t) => t.cpuMs[role]));
        const max = Math.max(...runs.map((t) => t.ms));
        return {
          figure: `7. ${probe.label}`,
          unit: 'ms',
          chatboxOnly: true,
          chatbox: round(median(runs.map((t) => t.ms)), 1),
          details:
            `max ${max.toFixed(1)} ms of ${runs.length}; server CPU per request: Chatbox node ${cpu('server')?.toFixed(0)} ms, ` +
            `database ${cpu('database')?.toFixed(0)} ms` +
            (notes.has(probe.key) ? `; ${notes.get(probe.key)}` : ''),
        };
      });
      const mib = (bytes: number) => (bytes / MIB).toFixed(0);
      const growth = (key?: string) =>
        Math.max(...memory.filter((m) => !key || m.key === key).map((m) => m.rss.peak - m.rss.before));
      rows.push({
        figure: "7. Chatbox's RSS growth while answering GET /admin/metrics (peak minus before, the most of any)",
        unit: 'MiB',
        chatboxOnly: true,
        chatbox: memory.length ? round(growth() / MIB, 1) : undefined,
        details: memory.length
          ? `1 day: ${mib(growth('metrics-1d'))} MiB, ${plan.days} days: ${mib(growth('metrics-30d'))} MiB; ` +
            `RSS ${mib(memory[0].rss.before)} MiB before the first request, ${mib(memory[memory.length - 1].rss.after)} MiB ` +
            `after the last (${memory.length} requests)`
          : undefined,
      });
      return { rows, raw: { seeded, timings: Object.fromEntries(timings), memory, notes: Object.fromEntries(notes) } };
    } finally {
      await server.stop();
    }
  },
};
