const started = Date.now();

/** Progress on stdout, with the run's elapsed time. */
export function log(scope: string, message: string): void {
  const elapsed = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[${elapsed}s] ${scope}: ${message}\n`);
}
