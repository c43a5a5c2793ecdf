import { CLOCK_TICKS, machineTicks, MachineTicks, treeTicks } from './proc-stat';
import { delay } from './wait';

const OWN = '\0own';

export interface CpuSample {
  atMs: number;
  groups: Record<string, number>;
  own: number;
  machine: MachineTicks;
}

export interface CpuUsage {
  seconds: number;
  /** CPU seconds used by each group over the interval. */
  cpuSeconds: Record<string, number>;
  /** Cores busy with processes that are not the benchmark's, and stolen by the hypervisor. */
  foreignCores: number;
  stealCores: number;
}

export interface QuietRecord {
  step: string;
  quiet: boolean;
  waitedMs: number;
  foreignCores: number;
  stealCores: number;
}

export interface QuietOptions {
  /** Foreign plus stolen cores at or under which the machine counts as quiet. */
  maxForeignCores: number;
  windowMs: number;
  deadlineMs: number;
}

/**
 * Measures CPU from /proc: of named groups of process trees, and of everything else on the machine
 * (the "foreign" load: busy time of all processes minus that of the benchmark's own trees).
 */
export class CpuMeter {
  private waitBudgetMs: number;

  /** `ownRoots`: this process and any daemon the benchmark started that left its tree (a database cluster). */
  constructor(
    private readonly ownRoots: () => number[],
    private readonly quietOptions: QuietOptions,
    totalWaitBudgetMs: number,
  ) {
    this.waitBudgetMs = totalWaitBudgetMs;
  }

  sample(groups: Record<string, number[]> = {}): CpuSample {
    const ticks = treeTicks({ ...groups, [OWN]: this.ownRoots() });
    const { [OWN]: own, ...rest } = ticks;
    return { atMs: Date.now(), groups: rest, own, machine: machineTicks() };
  }

  between(from: CpuSample, to: CpuSample): CpuUsage {
    const seconds = (to.atMs - from.atMs) / 1000;
    const cpuSeconds: Record<string, number> = {};
    for (const name of Object.keys(to.groups)) {
      cpuSeconds[name] = (to.groups[name] - (from.groups[name] ?? 0)) / CLOCK_TICKS;
    }
    const ownTicks = to.own - from.own;
    const foreignTicks = Math.max(0, to.machine.busy - from.machine.busy - ownTicks);
    return {
      seconds,
      cpuSeconds,
      foreignCores: foreignTicks / CLOCK_TICKS / seconds,
      stealCores: (to.machine.steal - from.machine.steal) / CLOCK_TICKS / seconds,
    };
  }

  /** CPU of the groups over a measured interval of `ms`. */
  async measure(groups: Record<string, number[]>, ms: number): Promise<CpuUsage> {
    const from = this.sample(groups);
    await delay(ms);
    return this.between(from, this.sample(groups));
  }

  /**
   * Waits until the foreign load is low, within the step's deadline and what is left of the run's total
   * waiting budget, and returns what it saw. The benchmark's own processes may be busy meanwhile.
   */
  async waitQuiet(step: string): Promise<QuietRecord> {
    const { maxForeignCores, windowMs, deadlineMs } = this.quietOptions;
    const started = Date.now();
    const deadline = started + Math.min(deadlineMs, this.waitBudgetMs);
    for (;;) {
      const usage = await this.measure({}, windowMs);
      const load = usage.foreignCores + usage.stealCores;
      const quiet = load <= maxForeignCores;
      if (quiet || Date.now() + windowMs > deadline) {
        const waitedMs = Date.now() - started;
        // The first window is the measurement itself; only the waiting beyond it spends the budget.
        this.waitBudgetMs = Math.max(0, this.waitBudgetMs - Math.max(0, waitedMs - windowMs));
        return { step, quiet, waitedMs, foreignCores: usage.foreignCores, stealCores: usage.stealCores };
      }
    }
  }
}
