import { BenchContext } from '../context';
import type { CpuUsage, QuietRecord } from '../lib/cpu-meter';
import { log } from '../lib/log';
import type { Row } from '../report/results';

/** What a figure saw of the machine: quiet checks before its steps, foreign load during its windows. */
export class FigureLog {
  readonly quiet: QuietRecord[] = [];
  readonly windowForeignCores: number[] = [];

  constructor(
    readonly ctx: BenchContext,
    readonly id: string,
  ) {}

  async quietStep(step: string): Promise<void> {
    const record = await this.ctx.meter.waitQuiet(`${this.id} ${step}`);
    this.quiet.push(record);
    const load = (record.foreignCores + record.stealCores).toFixed(2);
    this.log(
      `${step}: ${record.quiet ? 'quiet' : 'NOT quiet'} (foreign+steal ${load} cores, waited ${record.waitedMs} ms)`,
    );
  }

  window(usage: CpuUsage): void {
    this.windowForeignCores.push(usage.foreignCores + usage.stealCores);
  }

  log(message: string): void {
    log(this.id, message);
  }
}

export interface Figure {
  id: string;
  title: string;
  run(ctx: BenchContext, log: FigureLog): Promise<{ rows: Row[]; raw: unknown }>;
}

export const round = (value: number | undefined, digits = 2) =>
  value === undefined ? undefined : Number(value.toFixed(digits));
