// Bundles the pages' front end into dist/web/public: one script and stylesheet per page, named by content
// hash (served with a year's cache), a manifest the server reads, and the host pages' loader at a fixed name.
import { build } from 'esbuild';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

const here = import.meta.dirname;
const out = path.resolve(here, '..', '..', '..', 'dist', 'web', 'public');
const pages = ['chat', 'sessions', 'shared', 'admin', 'dev-host'];

const common = {
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  target: ['es2022'],
  legalComments: 'none',
  logLevel: 'warning',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  define: { 'process.env.NODE_ENV': '"production"' },
};

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const bundled = await build({
  ...common,
  entryPoints: Object.fromEntries(pages.map((page) => [page, path.join(here, 'entries', `${page}.tsx`)])),
  outdir: path.join(out, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  format: 'esm',
  splitting: true,
  metafile: true,
});
await build({
  ...common,
  entryPoints: [path.join(here, 'entries', 'embed.ts')],
  outfile: path.join(out, 'embed.js'),
  sourcemap: false,
  format: 'iife',
});

const manifest = { pages: {} };
for (const [file, output] of Object.entries(bundled.metafile.outputs)) {
  if (!output.entryPoint) continue;
  const page = path.basename(output.entryPoint).replace(/\.tsx?$/, '');
  manifest.pages[page] = {
    script: path.basename(file),
    ...(output.cssBundle ? { style: path.basename(output.cssBundle) } : {}),
  };
}
for (const page of pages) if (!manifest.pages[page]) throw new Error(`no bundle for the ${page} page`);
await writeFile(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
