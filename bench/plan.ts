import type { QuietOptions } from './lib/cpu-meter';

/** How much each figure measures: the default run takes 13–16 minutes (figure 7 about 6.5), `--quick` under 2. */
export interface Plan {
  name: 'full' | 'quick';
  /** Each step is measured this many times; figures report the median. */
  repeats: number;
  quiet: QuietOptions;
  /** All waiting for quiet, over the whole run, stops after this long: a busy machine is then recorded, not waited out. */
  quietBudgetMs: number;
  memory: { connections: number[] };
  streams: {
    tokensPerSecond: number;
    /** Figure 1 reads CPU per token at these K. */
    cpuAt: number[];
    /** Figure 2 steps K up through these until a step breaks the lateness limit. */
    steps: number[];
    latenessLimitMs: number;
    warmupMs: number;
    windowMs: number;
    rampTimeoutMs: number;
    /** Time for one server's whole staircase; K stops rising when it is spent. */
    budgetMs: number;
  };
  firstToken: {
    /** Messages one user sends back to back. */
    sequential: number;
    /** Users who talk at once, each pausing a random 0–2× `meanPauseMs` before each message, for `concurrentMs`. */
    concurrentUsers: number;
    meanPauseMs: number;
    concurrentMs: number;
    tokens: number;
  };
  crossReplica: { users: number; turns: number; tokens: number; tokensPerSecond: number };
  sendRate: { users: number; warmupMs: number; windowMs: number; maxUnanswered: number; tokens: number };
  /** Figure 7: the administrators' read routes over a history seeded into Chatbox's database. */
  adminReads: {
    sessions: number;
    messages: number;
    /** The users the sessions belong to; a few of them are heavy. */
    users: number;
    /** How far back the history goes, ending now. */
    days: number;
    /** Each request is timed this many times, after one untimed round: rows give the median and the max. */
    repeats: number;
    pageSize: number;
    /** The deep page of the list is this many pages in, reached by following `nextCursor`. */
    deepPage: number;
  };
}

export const FULL: Plan = {
  name: 'full',
  repeats: 3,
  quiet: { maxForeignCores: 0.25, windowMs: 1000, deadlineMs: 10000 },
  quietBudgetMs: 45000,
  memory: { connections: [1000, 5000, 10000] },
  streams: {
    tokensPerSecond: 50,
    cpuAt: [100, 500, 1000],
    // Fine at the bottom too: a server that holds only tens of streams still gets a number.
    steps: [25, 50, 100, 175, 250, 375, 500, 750, 1000, 1250, 1500, 2000, 2500, 3000],
    latenessLimitMs: 50,
    warmupMs: 1000,
    windowMs: 1500,
    rampTimeoutMs: 45000,
    budgetMs: 90000,
  },
  firstToken: { sequential: 100, concurrentUsers: 50, meanPauseMs: 1000, concurrentMs: 4000, tokens: 3 },
  crossReplica: { users: 10, turns: 2, tokens: 20, tokensPerSecond: 50 },
  sendRate: { users: 100, warmupMs: 2000, windowMs: 5000, maxUnanswered: 2, tokens: 3 },
  adminReads: { sessions: 20000, messages: 200000, users: 400, days: 30, repeats: 3, pageSize: 50, deepPage: 10 },
};

export const QUICK: Plan = {
  name: 'quick',
  repeats: 1,
  quiet: { maxForeignCores: 0.25, windowMs: 300, deadlineMs: 2000 },
  quietBudgetMs: 5000,
  memory: { connections: [1000] },
  streams: {
    tokensPerSecond: 50,
    cpuAt: [10, 20, 40],
    steps: [10, 20, 40, 80],
    latenessLimitMs: 50,
    warmupMs: 500,
    windowMs: 1500,
    rampTimeoutMs: 15000,
    budgetMs: 20000,
  },
  firstToken: { sequential: 10, concurrentUsers: 50, meanPauseMs: 1000, concurrentMs: 1000, tokens: 3 },
  crossReplica: { users: 5, turns: 2, tokens: 10, tokensPerSecond: 50 },
  sendRate: { users: 20, warmupMs: 1000, windowMs: 2000, maxUnanswered: 2, tokens: 3 },
  adminReads: { sessions: 2000, messages: 20000, users: 300, days: 30, repeats: 3, pageSize: 50, deepPage: 10 },
};
