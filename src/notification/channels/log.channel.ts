import { Logger } from '@nestjs/common';
import { Notification, NotificationChannel, NotificationEvent } from '../notification-channel';
import { logFields } from './render';

/** Writes each notification to the service's log: the event and its ids, and of user text only the cut reason. */
export class LogChannel extends NotificationChannel {
  readonly kind = 'log';
  private readonly logger = new Logger('Notification');

  send(notification: Notification): Promise<void> {
    const good: NotificationEvent[] = ['provider.recovered', 'dependency.recovered', 'test'];
    const level = good.includes(notification.event) ? 'log' : 'warn';
    this.logger[level](logFields(notification), `notification ${notification.event}`);
    return Promise.resolve();
  }
}
