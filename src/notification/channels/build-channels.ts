import { NotificationChannel } from '../notification-channel';
import { NotificationConfig } from '../notification-config';
import { EmailChannel } from './email.channel';
import { LogChannel } from './log.channel';
import { SmsChannel } from './sms.channel';
import { WebhookChannel } from './webhook.channel';

/** The configured channels, in configuration order (validated at boot: each kind listed has its settings). */
export function buildChannels(config: NotificationConfig): NotificationChannel[] {
  return config.channels.map((kind): NotificationChannel => {
    if (kind === 'email' && config.email) return new EmailChannel(config.email, config.adminConsoleUrl);
    if (kind === 'sms' && config.sms) return new SmsChannel(config.sms, config.adminConsoleUrl);
    if (kind === 'webhook' && config.webhook) return new WebhookChannel(config.webhook);
    return new LogChannel();
  });
}
