import { Notification, NotificationChannel } from '../notification-channel';
import { SmsChannelConfig } from '../notification-config';
import { renderShortText } from './render';
import { describeUrl, postOnce, throwFailures } from './webhook.channel';

/**
 * Sends a short text to every ADMIN_PHONES number through a Twilio-compatible API: one
 * `POST {SMS_API_URL}/2010-04-01/Accounts/{SID}/Messages.json` per phone, form-encoded `To`, `From`, `Body`, with
 * HTTP Basic auth SID:TOKEN. The text holds no user content but the help reason, cut to about 80 characters.
 */
export class SmsChannel extends NotificationChannel {
  readonly kind = 'sms';
  private readonly endpoint: string;
  private readonly authorization: string;

  constructor(
    private readonly config: SmsChannelConfig,
    private readonly adminConsoleUrl?: string,
  ) {
    super();
    this.endpoint = `${config.apiUrl}/2010-04-01/Accounts/${encodeURIComponent(config.accountSid)}/Messages.json`;
    this.authorization = `Basic ${Buffer.from(`${config.accountSid}:${config.authToken}`).toString('base64')}`;
  }

  async send(notification: Notification, signal: AbortSignal): Promise<void> {
    const text = renderShortText(notification, this.adminConsoleUrl);
    const headers = {
      Authorization: this.authorization,
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    };
    const target = `SMS API (${describeUrl(this.config.apiUrl)})`;
    const results = await Promise.allSettled(
      this.config.to.map((to) =>
        postOnce(
          this.endpoint,
          { headers, body: new URLSearchParams({ To: to, From: this.config.from, Body: text }).toString() },
          { signal, timeoutMs: this.config.timeoutMs, target: `${target} for ${to}` },
        ),
      ),
    );
    throwFailures(results);
  }
}
