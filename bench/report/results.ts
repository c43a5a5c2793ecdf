import type { QuietRecord } from '../lib/cpu-meter';

/** How a row is judged: a ratio Chatbox/baseline bounded above or below, or Chatbox's own value bounded above. */
export type TargetRule =
  { kind: 'ratio-max'; value: number } | { kind: 'ratio-min'; value: number } | { kind: 'chatbox-max'; value: number };

export interface Row {
  figure: string;
  unit: string;
  baseline?: number;
  chatbox?: number;
  target?: TargetRule;
  /** Breakdown and context, shown beside the figure. */
  details?: string;
  /** Why a value is missing: the harness could not measure it. */
  missing?: string;
  /**
   * A measured result without a number, such as a server that could not hold the step's streams: the
   * figure is produced, and fails its target.
   */
  outcome?: string;
  /** Not judged: the baseline could not do it either on this machine, so there is nothing to compare with. */
  unjudged?: boolean;
  /** Reported when available; its absence does not fail the run. */
  optional?: boolean;
  /** Chatbox's value alone is the figure: bare Socket.IO has nothing that compares (the admin routes). */
  chatboxOnly?: boolean;
}

export interface FigureResult {
  id: string;
  title: string;
  rows: Row[];
  /** Machine state before each step, and the foreign load during each measured window (cores). */
  quiet: QuietRecord[];
  windowForeignCores: number[];
  seconds: number;
  /** Every measurement behind the rows, per step and repetition. */
  raw: unknown;
  error?: string;
}

export function ratio(row: Row): number | undefined {
  return row.baseline !== undefined && row.chatbox !== undefined && row.baseline !== 0
    ? row.chatbox / row.baseline
    : undefined;
}

export function passes(row: Row): boolean | undefined {
  if (row.unjudged) return undefined;
  if (row.outcome !== undefined) return false;
  const r = ratio(row);
  switch (row.target?.kind) {
    case 'ratio-max':
      return r === undefined ? undefined : r <= row.target.value;
    case 'ratio-min':
      return r === undefined ? undefined : r >= row.target.value;
    case 'chatbox-max':
      return row.chatbox === undefined ? undefined : row.chatbox <= row.target.value;
    default:
      return undefined;
  }
}

/** Whether the row has what a figure must produce: both values, or Chatbox's alone for a row with no baseline. */
export const produced = (row: Row) =>
  row.optional === true ||
  row.outcome !== undefined ||
  (row.chatbox !== undefined &&
    (row.baseline !== undefined || row.chatboxOnly === true || row.target?.kind === 'chatbox-max'));
