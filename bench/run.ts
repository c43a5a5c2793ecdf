import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BenchContext } from './context';
import { streams } from './figures/f1-f2-streams';
import { firstToken } from './figures/f3-first-token';
import { idleMemory } from './figures/f4-idle-memory';
import { crossReplica } from './figures/f5-cross-replica';
import { persistedRate } from './figures/f6-persisted-rate';
import { adminReads } from './figures/f7-admin-reads';
import { Figure, FigureLog } from './figures/figure';
import { CpuMeter } from './lib/cpu-meter';
import { log } from './lib/log';
import { FULL, Plan, QUICK } from './plan';
import { randomSecrets } from './processes/chatbox';
import { DatabaseHandle, startDatabase } from './processes/database';
import { fork } from './processes/forked';
import { stopAll } from './processes/managed-process';
import { PROJECT_ROOT } from './processes/paths';
import { RedisHandle, startRedis } from './processes/redis';
import { summarizeProfiles } from './report/cpu-profile';
import { machineFacts } from './report/machine';
import { markdown, RunReport } from './report/markdown';
import { FigureResult, produced } from './report/results';
import type { UpstreamApi } from './servers/paced-upstream';

const FIGURES: Figure[] = [idleMemory, firstToken, persistedRate, crossReplica, streams, adminReads];

const USAGE = `npm run bench [-- --quick] [-- --only f4,f3,f6,f5,f1-f2,f7] [-- --profile]
  --quick    smaller K and counts, one repetition (under 2 minutes); every figure is still produced
  --only     these figures only
  --profile  Chatbox runs with --cpu-prof; the top self-time entries go into the report
             (profiling slows Chatbox: such a run's figures are not for the README)`;

interface Options {
  plan: Plan;
  figures: Figure[];
  profile: boolean;
}

function parseOptions(argv: string[]): Options {
  let plan = FULL;
  let figures = FIGURES;
  let profile = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') plan = QUICK;
    else if (arg === '--profile') profile = true;
    else if (arg === '--only') {
      const ids = (argv[++i] ?? '').split(',');
      figures = FIGURES.filter((f) => ids.includes(f.id));
      if (figures.length !== ids.length) throw new Error(`unknown figure in --only ${ids.join(',')}\n${USAGE}`);
    } else throw new Error(`unknown option ${arg}\n${USAGE}`);
  }
  return { plan, figures, profile };
}

/**
 * Builds dist/ when any source it is built from is newer than it (specs are not: tsconfig.build.json):
 * the benchmark runs the service as `npm run build` makes it.
 */
function ensureBuilt(): void {
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return Math.max(latest, newest(full));
      return entry.name.endsWith('.spec.ts') ? latest : Math.max(latest, statSync(full).mtimeMs);
    }, 0);
  const main = path.join(PROJECT_ROOT, 'dist', 'main.js');
  let built = 0;
  try {
    built = statSync(main).mtimeMs;
  } catch {
    // Not built yet.
  }
  if (built >= newest(path.join(PROJECT_ROOT, 'src'))) return;
  log('bench', 'dist/ is missing or older than src/: npm run build');
  const result = spawnSync('npm', ['run', 'build'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm run build failed');
}

async function runFigure(ctx: BenchContext, figure: Figure): Promise<FigureResult> {
  const figureLog = new FigureLog(ctx, figure.id);
  const started = Date.now();
  figureLog.log(`${figure.title}…`);
  try {
    const { rows, raw } = await figure.run(ctx, figureLog);
    return {
      id: figure.id,
      title: figure.title,
      rows,
      raw,
      quiet: figureLog.quiet,
      windowForeignCores: figureLog.windowForeignCores,
      seconds: (Date.now() - started) / 1000,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    figureLog.log(`not produced: ${error instanceof Error ? error.stack : message}`);
    return {
      id: figure.id,
      title: figure.title,
      rows: [],
      raw: undefined,
      error: message.split('\n')[0],
      quiet: figureLog.quiet,
      windowForeignCores: figureLog.windowForeignCores,
      seconds: (Date.now() - started) / 1000,
    };
  }
}

/** The embedded database runs inside this process's tree but not as a ManagedProcess: it is stopped by its handle. */
let runningDatabase: DatabaseHandle | undefined;

async function stopEverything(): Promise<void> {
  await stopAll();
  await runningDatabase?.stop();
}

async function bench(options: Options): Promise<number> {
  ensureBuilt();
  const startedAt = new Date();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'chatbox-bench-'));
  const logDir = path.join(workDir, 'logs');
  mkdirSync(logDir);
  const profileDir = options.profile ? path.join(workDir, 'profiles') : undefined;
  log('bench', `${options.plan.name} run; logs in ${logDir}`);
  const figures: FigureResult[] = [];
  let ok = false;
  let redis: RedisHandle | undefined;
  let database: DatabaseHandle | undefined;
  try {
    redis = await startRedis(logDir);
    // A PostgreSQL cluster started as root runs as the postgres user, who must reach its folder.
    chmodSync(workDir, 0o711);
    database = await startDatabase(path.join(workDir, 'database'));
    runningDatabase = database;
    const db = database;
    const epochMs = Date.now();
    const upstream = await fork<UpstreamApi>('upstream', 'servers/paced-upstream', {
      logDir,
      env: { PATH: process.env.PATH, BENCH_EPOCH_MS: String(epochMs) },
    });
    const meter = new CpuMeter(() => [process.pid, ...db.pids()], options.plan.quiet, options.plan.quietBudgetMs);
    const ctx = new BenchContext(
      options.plan,
      epochMs,
      logDir,
      meter,
      redis,
      database,
      upstream,
      await upstream.rpc.call('url'),
      randomSecrets(),
      profileDir,
    );
    for (const figure of options.figures) figures.push(await runFigure(ctx, figure));
    // Servers stop (and write their profiles) before the report is made.
    await stopAll();

    const report: RunReport = {
      date: startedAt.toISOString(),
      plan:
        options.plan.name +
        (options.figures.length < FIGURES.length ? ` (${options.figures.map((f) => f.id).join(', ')})` : ''),
      durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
      machine: machineFacts(db.description),
      figures,
      profiles: profileDir ? summarizeProfiles(profileDir, PROJECT_ROOT) : undefined,
    };
    // Only a whole, unprofiled default run is named by its date alone: the others are not kept in git.
    const stamp = startedAt.toISOString().slice(0, 19).replace(/:/g, '').replace('T', '-');
    const suffix =
      (options.plan.name === 'quick' ? '-quick' : '') +
      (options.figures.length < FIGURES.length ? `-only-${options.figures.map((f) => f.id).join('-')}` : '') +
      (options.profile ? '-profile' : '');
    const base = path.join(PROJECT_ROOT, 'bench-results', `${stamp}${suffix}`);
    mkdirSync(path.dirname(base), { recursive: true });
    writeFileSync(`${base}.json`, JSON.stringify({ ...report, plan: options.plan }, null, 2) + '\n');
    const table = markdown(report);
    writeFileSync(`${base}.md`, table);
    process.stdout.write(`\n${table}\n`);
    log('bench', `results in ${base}.json and ${base}.md`);

    const missing = figures.flatMap((f) =>
      f.error
        ? [`${f.title}: ${f.error}`]
        : f.rows.filter((r) => !produced(r)).map((r) => `${r.figure}: ${r.missing ?? 'no value'}`),
    );
    if (missing.length) {
      process.stderr.write(`Not every figure was produced:\n${missing.map((m) => `  - ${m}`).join('\n')}\n`);
      return 1;
    }
    ok = true;
    return 0;
  } finally {
    await stopAll();
    await database?.stop();
    runningDatabase = undefined;
    await redis?.stop();
    // Logs are kept when something went wrong.
    if (ok) rmSync(workDir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  // Interrupted (Ctrl-C, or CI's timeout): nothing the run started may outlive it.
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => void stopEverything().then(() => process.exit(code)));
  }
  return bench(options);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    void stopEverything().then(() => process.exit(1));
  },
);
