import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AppConfig } from '../config/app-config';
import { LlmModule } from '../llm/llm.module';
import { SessionModule } from '../session/session.module';
import { EmailChannel } from './channels/email.channel';
import { LogChannel } from './channels/log.channel';
import { SmsChannel } from './channels/sms.channel';
import { WebhookChannel } from './channels/webhook.channel';
import { NotificationDispatcher } from './dispatcher.service';
import { HelpNotifier } from './help-notifier.service';
import { NOTIFICATION_CHANNELS, NotificationChannel } from './notification-channel';
import { NotificationConfig } from './notification-config';
import { NotificationService } from './notification.service';
import { OutboxRepository } from './outbox.repository';
import { ProviderNotifier } from './provider-notifier.service';
import {
  NotificationClaimDoc,
  NotificationClaimSchema,
  NotificationDeliveryDoc,
  NotificationDeliverySchema,
} from './schemas/notification-delivery.schema';

/** The configured channels, in configuration order (validated at boot: each kind listed has its settings). */
function channelsOf(config: NotificationConfig): NotificationChannel[] {
  return config.channels.map((kind): NotificationChannel => {
    if (kind === 'email' && config.email) return new EmailChannel(config.email, config.adminConsoleUrl);
    if (kind === 'sms' && config.sms) return new SmsChannel(config.sms, config.adminConsoleUrl);
    if (kind === 'webhook' && config.webhook) return new WebhookChannel(config.webhook);
    return new LogChannel();
  });
}

@Module({
  imports: [
    MongooseModule.forFeature([
      { name: NotificationDeliveryDoc.name, schema: NotificationDeliverySchema },
      { name: NotificationClaimDoc.name, schema: NotificationClaimSchema },
    ]),
    SessionModule,
    LlmModule,
  ],
  providers: [
    {
      provide: NOTIFICATION_CHANNELS,
      inject: [AppConfig],
      useFactory: (c: AppConfig) => channelsOf(c.notify.channels),
    },
    OutboxRepository,
    NotificationService,
    NotificationDispatcher,
    HelpNotifier,
    ProviderNotifier,
  ],
  exports: [NotificationService],
})
export class NotificationModule {}
