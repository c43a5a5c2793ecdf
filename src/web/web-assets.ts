import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PageAssets, PageEntry } from './page-config';

/** What `npm run build` writes for the pages: the bundles, named by content hash, and their manifest. */
export const WEB_PUBLIC_DIR = path.resolve(__dirname, '..', '..', 'dist', 'web', 'public');

export interface WebAssets {
  /** Every page's script and style, as file names under `<prefix>/assets/`. */
  pages: Record<PageEntry, PageAssets>;
  /** The host pages' loader, served at `<prefix>/embed.js`. */
  embedScript: string;
}

/** Reads the manifest the build wrote; undefined when the pages were not built (the API still serves). */
export function loadWebAssets(dir = WEB_PUBLIC_DIR): WebAssets | undefined {
  let manifest: WebAssets;
  try {
    manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as WebAssets;
  } catch {
    return undefined;
  }
  return { ...manifest, embedScript: readFileSync(path.join(dir, 'embed.js'), 'utf8') };
}
