import type { PageConfig } from '../../page-config';
import type { TokenSource } from './connection';
import { HostBridge, parentOrigin } from './host-bridge';

/** The page's token source: the host page framing it, when it is an allowed origin; undefined otherwise. */
export function hostTokens(config: PageConfig, win: Window = window): TokenSource | undefined {
  const allowed = config.selfParent ? [...config.parentOrigins, win.location.origin] : config.parentOrigins;
  const origin = parentOrigin(allowed, win);
  return origin ? new HostBridge(origin, win) : undefined;
}
