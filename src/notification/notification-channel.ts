/** Which way a notification goes. `log` writes it to the service's log (the default when nothing else is configured). */
export type ChannelKind = 'log' | 'email' | 'sms' | 'webhook';
export const CHANNEL_KINDS: readonly ChannelKind[] = ['log', 'email', 'sms', 'webhook'];

/** What administrators are told about. */
export type NotificationEvent =
  /** A user (or the AI on the user's behalf) asked for a human. */
  | 'help.requested'
  /** A help request nobody picked up in time, sent again on the next channel. */
  | 'help.escalated'
  /** An LLM provider's circuit opened (it keeps failing), or closed again. */
  | 'provider.down'
  | 'provider.recovered'
  /** MongoDB or Redis unreachable for longer than the threshold, or reachable again after it. */
  | 'dependency.down'
  | 'dependency.recovered'
  /** An abnormal share of requests refused by rate limits. */
  | 'rate_limit.abnormal'
  /** Sent by `npm run notify:test`. */
  | 'test';

/**
 * One notification, as every channel receives it. `id` is the delivery's id: the same on every attempt of
 * the same delivery (webhook receivers de-duplicate on it). `data` holds the event's facts as plain values;
 * texts in it may come from users or models (a help reason, a user name) and must be escaped or truncated
 * by whoever renders them.
 */
export interface Notification {
  id: string;
  event: NotificationEvent;
  occurredAt: Date;
  data: NotificationData;
}

export interface NotificationData {
  sessionId?: string;
  userId?: string;
  userName?: string;
  /** `user` or `ai`, for help events. */
  source?: string;
  reason?: string;
  /** When the help request was opened (ISO): an escalation is sent only while that request is open. */
  requestedAt?: string;
  /** How long the help request has waited, for an escalation. */
  waitingMs?: number;
  provider?: string;
  dependency?: string;
  /** Written by the service itself (a model id, counts, a driver's error), never by a user. */
  detail?: string;
}

/** A delivery attempt that failed: `retryable` when trying again later may succeed (5xx, timeouts, network). */
export class ChannelError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'ChannelError';
  }
}

/** The configured channels, in configuration order (a Nest injection token). */
export const NOTIFICATION_CHANNELS = Symbol('NOTIFICATION_CHANNELS');

/** One way to reach the administrators. `send` makes one attempt, to every configured recipient of the channel. */
export abstract class NotificationChannel {
  abstract readonly kind: ChannelKind;
  /** Throws `ChannelError` when the attempt failed; the outbox retries the retryable ones. */
  abstract send(notification: Notification, signal: AbortSignal): Promise<void>;
}
