import { AppConfig } from '../config/app-config';

/**
 * How long one step of the shutdown may wait on work that can block on a dependency (a database that does not
 * answer): `share` of what SHUTDOWN_TIMEOUT_MS leaves after the drain, at least a second. Steps that run one
 * after another take shares that leave the rest for closing connections before the deadline.
 */
export function shutdownStepMs({ timeoutMs, drainDelayMs }: AppConfig['shutdown'], share: number): number {
  return Math.max(1000, Math.floor((timeoutMs - drainDelayMs) * share));
}
