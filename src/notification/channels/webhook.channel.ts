import { createHmac } from 'node:crypto';
import { ChannelError, Notification, NotificationChannel } from '../notification-channel';
import { WebhookChannelConfig } from '../notification-config';

/** Statuses worth another attempt: the receiver's trouble, or a request to slow down. */
const RETRYABLE_STATUS = new Set([408, 429]);
const EXCERPT_CHARS = 200;

/** `Chatbox-Signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" under the secret>`. */
export function signWebhook(secret: string, timestamp: number, rawBody: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/** What a webhook receiver gets as its JSON body. */
export interface WebhookPayload {
  id: string;
  event: string;
  occurredAt: string;
  data: Notification['data'];
}

/**
 * One HTTP POST under a time limit, mapped to the outcome the outbox needs: a 2xx resolves; 5xx, 408, 429, network
 * errors, timeouts and cancellation are retryable `ChannelError`s; every other answer (redirects included, which
 * are not followed) is a permanent one. `target` names the endpoint in errors without its secret parts.
 */
export async function postOnce(
  url: string,
  init: { headers: Record<string, string>; body: string },
  options: { signal: AbortSignal; timeoutMs: number; target: string },
): Promise<void> {
  const signal = AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]);
  let response: Response;
  let excerpt: string;
  try {
    response = await fetch(url, { method: 'POST', headers: init.headers, body: init.body, redirect: 'manual', signal });
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    excerpt = (await response.text()).slice(0, EXCERPT_CHARS);
  } catch (error) {
    if (error instanceof ChannelError) throw error;
    // Cut by the caller: its attempt ran out of time (a TimeoutError), or the service is stopping.
    const cutBy = options.signal.aborted ? (options.signal.reason as Error | undefined) : undefined;
    const reason = !signal.aborted
      ? `failed: ${describeFetchError(error)}`
      : !options.signal.aborted
        ? `timed out after ${options.timeoutMs} ms`
        : cutBy?.name === 'TimeoutError'
          ? 'timed out: the attempt ran out of time'
          : 'was cancelled';
    throw new ChannelError(`${options.target} ${reason}`, true);
  }
  const { status } = response;
  const retryable = status >= 500 || RETRYABLE_STATUS.has(status);
  const detail = excerpt.replace(/\s+/g, ' ').trim();
  throw new ChannelError(`${options.target} answered ${status}${detail ? `: ${detail}` : ''}`, retryable);
}

function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as Error & { cause?: unknown }).cause;
  const code = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : undefined;
  return code ? `${error.message} (${code})` : error.message;
}

/** Where a URL points, for messages: scheme, host and port only, since a webhook's path is often its secret. */
export function describeUrl(url: string): string {
  return new URL(url).origin;
}

/**
 * POSTs each notification as signed JSON to every WEBHOOK_URLS entry. The body is the same on every attempt;
 * receivers verify `Chatbox-Signature` and de-duplicate on `Chatbox-Delivery` (an attempt that failed for one URL
 * is retried for all of them).
 */
export class WebhookChannel extends NotificationChannel {
  readonly kind = 'webhook';

  constructor(private readonly config: WebhookChannelConfig) {
    super();
  }

  async send(notification: Notification, signal: AbortSignal): Promise<void> {
    const payload: WebhookPayload = {
      id: notification.id,
      event: notification.event,
      occurredAt: notification.occurredAt.toISOString(),
      data: notification.data,
    };
    const body = JSON.stringify(payload);
    const headers = {
      'Content-Type': 'application/json',
      'Chatbox-Delivery': notification.id,
      'Chatbox-Signature': signWebhook(this.config.secret, Math.floor(Date.now() / 1000), body),
    };
    const results = await Promise.allSettled(
      this.config.urls.map((url, i) =>
        postOnce(
          url,
          { headers, body },
          { signal, timeoutMs: this.config.timeoutMs, target: `webhook ${i + 1} (${describeUrl(url)})` },
        ),
      ),
    );
    throwFailures(results);
  }
}

/**
 * Throws one `ChannelError` for the attempts that failed, retryable when any of them is (the others then get it
 * again, which receivers de-duplicate).
 */
export function throwFailures(results: PromiseSettledResult<void>[]): void {
  const errors = results
    .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) =>
      r.reason instanceof ChannelError ? r.reason : new ChannelError(String((r.reason as Error)?.message), true),
    );
  if (errors.length === 0) return;
  if (errors.length === 1) throw errors[0];
  throw new ChannelError(
    `${errors.length} of ${results.length} failed: ${errors.map((e) => e.message).join('; ')}`,
    errors.some((e) => e.retryable),
  );
}
