import { SessionOwner } from '../session/session.service';

export type Route = { to: 'ai' } | { to: 'admin'; adminId: string };

/** Where a user message goes: to the AI, unless an administrator holds the session. */
export function routeUserMessage(owner: SessionOwner): Route {
  return owner === 'ai' ? { to: 'ai' } : { to: 'admin', adminId: owner.slice('admin:'.length) };
}
