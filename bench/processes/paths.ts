import * as path from 'node:path';

/** The project root (this file runs from bench/processes or its build in .bench-dist/processes). */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** A compiled script of the benchmark, by its path under bench/ without extension. */
export const benchScript = (name: string) => path.join(__dirname, '..', `${name}.js`);
