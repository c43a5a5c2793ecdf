import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

export interface ProfileEntry {
  where: string;
  selfPercent: number;
}

export interface ProfileSummary {
  file: string;
  seconds: number;
  top: ProfileEntry[];
  /** Self time by package (node_modules), by folder of the service (dist/<module>), or Node.js itself. */
  byModule: ProfileEntry[];
}

/** `/abs/node_modules/socket.io/dist/socket.js` → `socket.io/dist/socket.js`, `/root/dist/x.js` → `dist/x.js`. */
function shortUrl(url: string, root: string): string {
  const file = url.replace(/^file:\/\//, '');
  const modules = file.lastIndexOf('node_modules/');
  if (modules !== -1) return file.slice(modules + 'node_modules/'.length);
  return file.startsWith(root) ? path.relative(root, file) : file;
}

function moduleOf(url: string, root: string): string {
  if (!url) return '(native: V8, libuv, GC)';
  if (url.startsWith('node:')) return 'node: (Node.js built-ins)';
  const short = shortUrl(url, root);
  if (url.includes('node_modules/'))
    return short
      .split('/')
      .slice(0, short.startsWith('@') ? 2 : 1)
      .join('/');
  return short.split('/').slice(0, 2).join('/');
}

const topOf = (totals: Map<string, number>, busy: number, count: number): ProfileEntry[] =>
  [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([where, hits]) => ({ where, selfPercent: Number(((hits / busy) * 100).toFixed(1)) }));

/** The functions and modules with the most self time in each V8 CPU profile of the folder (idle time left out). */
export function summarizeProfiles(dir: string, root: string, top = 15): ProfileSummary[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.cpuprofile'))
    .sort()
    .map((file) => {
      const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
      const self = new Map<string, number>();
      const modules = new Map<string, number>();
      let busy = 0;
      for (const node of profile.nodes) {
        const { functionName, url, lineNumber } = node.callFrame;
        if (functionName === '(idle)' || !node.hitCount) continue;
        const where = url ? `${functionName || '(anonymous)'} ${shortUrl(url, root)}:${lineNumber + 1}` : functionName;
        self.set(where, (self.get(where) ?? 0) + node.hitCount);
        const module = moduleOf(url, root);
        modules.set(module, (modules.get(module) ?? 0) + node.hitCount);
        busy += node.hitCount;
      }
      return {
        file,
        seconds: (profile.endTime - profile.startTime) / 1e6,
        top: topOf(self, busy, top),
        byModule: topOf(modules, busy, 10),
      };
    });
}
