import type { PageConfig } from '../../page-config';
import type { TokenSource } from './connection';
import { HostBridge, parentTargets } from './host-bridge';

/** The page's token source: the host page framing it, when it may be an allowed origin; undefined otherwise. */
export function hostTokens(config: PageConfig, win: Window = window): TokenSource | undefined {
  const allowed = config.selfParent ? [...config.parentOrigins, win.location.origin] : config.parentOrigins;
  const targets = parentTargets(allowed, win);
  return targets.length > 0 ? new HostBridge(targets, win) : undefined;
}
