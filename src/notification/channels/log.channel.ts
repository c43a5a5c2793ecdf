import { Logger } from '@nestjs/common';
import { Notification, NotificationChannel } from '../notification-channel';
import { logFields } from './render';

/** Writes each notification to the service's log: the event and its ids, and of user text only the cut reason. */
export class LogChannel extends NotificationChannel {
  readonly kind = 'log';
  private readonly logger = new Logger('Notification');

  send(notification: Notification): Promise<void> {
    const level = notification.event === 'provider.recovered' || notification.event === 'test' ? 'log' : 'warn';
    this.logger[level](logFields(notification), `notification ${notification.event}`);
    return Promise.resolve();
  }
}
