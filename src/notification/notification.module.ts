import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AppConfig } from '../config/app-config';
import { RateLimitTallyModule } from '../coordination/rate-limit-tally';
import { LlmModule } from '../llm/llm.module';
import { SessionModule } from '../session/session.module';
import { NotificationDispatcher } from './dispatcher.service';
import { DependencyNotifier } from './dependency-notifier.service';
import { HelpNotifier } from './help-notifier.service';
import { buildChannels } from './channels/build-channels';
import { NOTIFICATION_CHANNELS } from './notification-channel';
import { NotificationService } from './notification.service';
import { OutboxRepository } from './outbox.repository';
import { ProviderNotifier } from './provider-notifier.service';
import { RateLimitNotifier } from './rate-limit-notifier.service';
import {
  NotificationClaimDoc,
  NotificationClaimSchema,
  NotificationDeliveryDoc,
  NotificationDeliverySchema,
} from './schemas/notification-delivery.schema';

@Module({
  imports: [
    MongooseModule.forFeature([
      { name: NotificationDeliveryDoc.name, schema: NotificationDeliverySchema },
      { name: NotificationClaimDoc.name, schema: NotificationClaimSchema },
    ]),
    SessionModule,
    LlmModule,
    RateLimitTallyModule,
  ],
  providers: [
    {
      provide: NOTIFICATION_CHANNELS,
      inject: [AppConfig],
      useFactory: (c: AppConfig) => buildChannels(c.notify.channels),
    },
    OutboxRepository,
    NotificationService,
    NotificationDispatcher,
    HelpNotifier,
    ProviderNotifier,
    DependencyNotifier,
    RateLimitNotifier,
  ],
  exports: [NotificationService],
})
export class NotificationModule {}
