import type { HelpView, HolderView } from '../lib/protocol';

/** A session as the administrators' queue shows it (docs/protocol.md, AdminSessionView). */
export interface AdminSessionView {
  id: string;
  userId: string;
  userName: string | null;
  name: string | null;
  status: 'active' | 'ended';
  owner: string;
  rev: number;
  modelId: string;
  startedAt: string;
  lastActivityAt: string;
  messageCount: number;
  assisted: boolean;
  helpRequests: number;
  holder: HolderView | null;
  help: HelpView | null;
  removed?: boolean;
}

/** Help requests first, the longest waiting first; then the most recently active. */
export function queueOrder(a: AdminSessionView, b: AdminSessionView): number {
  if (a.help && b.help) return a.help.requestedAt.localeCompare(b.help.requestedAt);
  if (a.help || b.help) return a.help ? -1 : 1;
  return b.lastActivityAt.localeCompare(a.lastActivityAt);
}
