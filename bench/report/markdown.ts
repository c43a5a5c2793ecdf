import type { MachineFacts } from './machine';
import type { ProfileSummary } from './cpu-profile';
import { FigureResult, passes, ratio, Row, TargetRule } from './results';

export interface RunReport {
  date: string;
  plan: string;
  durationSeconds: number;
  machine: MachineFacts;
  figures: FigureResult[];
  profiles?: ProfileSummary[];
}

/** Three significant digits or so, whole numbers as they are. */
function number(value: number): string {
  const size = Math.abs(value);
  if (Number.isInteger(value) || size >= 100) return value.toFixed(0);
  if (size >= 10) return value.toFixed(1);
  return size >= 0.01 || size === 0 ? value.toFixed(2) : value.toPrecision(2);
}

const value = (v: number | undefined, unit: string) => (v === undefined ? '—' : `${number(v)} ${unit}`);

function target(rule: TargetRule | undefined, unit: string): string {
  switch (rule?.kind) {
    case 'ratio-max':
      return `≤ ${rule.value.toFixed(1)}×`;
    case 'ratio-min':
      return `≥ ${rule.value.toFixed(1)}×`;
    case 'chatbox-max':
      return `Chatbox ≤ ${rule.value} ${unit}`;
    default:
      return '—';
  }
}

/** The foreign load a figure saw: the most, over the quiet checks before its steps and its windows. */
function foreign(figure: FigureResult): string {
  const loads = [...figure.quiet.map((q) => q.foreignCores + q.stealCores), ...figure.windowForeignCores];
  if (!loads.length) return '—';
  const busy = figure.quiet.filter((q) => !q.quiet).length;
  return `≤ ${Math.max(...loads).toFixed(2)}${busy ? ` (${busy} of ${figure.quiet.length} checks busy)` : ''}`;
}

const escape = (text: string) => text.replace(/\|/g, '\\|');

function rowLine(row: Row, figure: FigureResult): string {
  const r = ratio(row);
  const pass = passes(row);
  const notes = [row.outcome, row.missing, row.details].filter(Boolean).join('; ');
  return `| ${[
    row.figure,
    value(row.baseline, row.unit),
    value(row.chatbox, row.unit),
    r === undefined ? '—' : `${number(r)}×`,
    target(row.target, row.unit),
    pass === undefined ? '—' : pass ? 'pass' : '**fail**',
    foreign(figure),
    notes,
  ]
    .map((cell) => escape(cell))
    .join(' | ')} |`;
}

export function markdown(report: RunReport): string {
  const m = report.machine;
  const lines = [
    `### ${report.date} (${report.plan} run, ${(report.durationSeconds / 60).toFixed(1)} min)`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, ${m.kernel}; Node ${m.node}, socket.io ${m.socketIo}; ` +
      `database: ${m.database}; Redis ${m.redis}; commit ${m.commit}; load average at start ${m.loadAverageAtStart.join(' ')}. ` +
      `Foreign load is in cores (other processes' CPU plus hypervisor steal).`,
    '',
    '| Figure | Bare Socket.IO | Chatbox | Ratio | Target | Pass | Foreign load | Notes |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const figure of report.figures) {
    if (figure.error)
      lines.push(
        `| ${escape(figure.title)} | — | — | — | — | — | ${foreign(figure)} | not produced: ${escape(figure.error)} |`,
      );
    for (const row of figure.rows) lines.push(rowLine(row, figure));
  }
  for (const profile of report.profiles ?? []) {
    lines.push('', `CPU profile ${profile.file} (${profile.seconds.toFixed(0)} s), self time by module:`, '');
    for (const entry of profile.byModule) lines.push(`- ${entry.selfPercent}% ${entry.where}`);
    lines.push('', 'and by function:', '');
    for (const entry of profile.top) lines.push(`- ${entry.selfPercent}% ${entry.where}`);
  }
  return lines.join('\n') + '\n';
}
