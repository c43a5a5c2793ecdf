import nodemailer from 'nodemailer';
import type { NodemailerError, SMTPSentMessageInfo, SMTPTransportOptions, Transporter } from 'nodemailer';
import { ChannelError, Notification, NotificationChannel } from '../notification-channel';
import { EmailChannelConfig } from '../notification-config';
import { renderNotification } from './render';

/** Errors raised before anything reached the server, which the same message would raise again. */
const PERMANENT_CODES = new Set(['ECONFIG', 'EENVELOPE', 'EMESSAGE', 'EAUTH', 'ENOAUTH', 'EREQUIRETLS']);

/**
 * A failed send as a `ChannelError`: an SMTP reply decides when there is one (4xx retryable, 5xx permanent but
 * 503, a command out of sequence); without one, connection trouble (refused, reset, timed out, TLS) is retryable.
 */
export function toChannelError(error: unknown): ChannelError {
  const e = error as NodemailerError;
  const message = `SMTP ${e?.message ?? String(error)}`;
  if (typeof e?.responseCode === 'number' && e.responseCode >= 400) {
    return new ChannelError(message, !(e.responseCode >= 500 && e.responseCode !== 503));
  }
  return new ChannelError(message, !PERMANENT_CODES.has(e?.code ?? ''));
}

/**
 * Sends each notification as one email to every ADMIN_EMAILS address (all in `To`), with a plain-text and an
 * HTML part. The transport is made once; each send opens its own connection, so a server's restart costs nothing.
 */
export class EmailChannel extends NotificationChannel {
  readonly kind = 'email';
  private readonly transport: Transporter<SMTPSentMessageInfo, SMTPTransportOptions>;

  constructor(
    private readonly config: EmailChannelConfig,
    private readonly adminConsoleUrl?: string,
  ) {
    super();
    const { smtp } = config;
    this.transport = nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      requireTLS: smtp.requireTLS,
      auth: smtp.user ? { user: smtp.user, pass: smtp.pass ?? '' } : undefined,
      tls: { rejectUnauthorized: smtp.rejectUnauthorized },
      // Nodemailer waits minutes by default; an attempt that hangs is better retried.
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  }

  async send(notification: Notification, signal: AbortSignal): Promise<void> {
    const { subject, text, html } = renderNotification(notification, this.adminConsoleUrl);
    try {
      await this.transport.sendMail({
        from: this.config.from,
        to: this.config.to,
        subject,
        text,
        html,
        // Same Message-ID on every attempt of a delivery, so a mail system can spot a repeat.
        messageId: `<${notification.id.replace(/[^A-Za-z0-9._-]/g, '-')}@chatbox.notification>`,
        signal,
      });
    } catch (error) {
      throw toChannelError(error);
    }
  }

  close(): void {
    this.transport.close();
  }
}
