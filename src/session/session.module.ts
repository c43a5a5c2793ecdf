import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { ActiveSessionsReporter } from './active-sessions.reporter';
import { ContentCipher } from './content-cipher';
import { MessageRepository } from './message.repository';
import { MessageDoc, MessageSchema } from './schemas/message.schema';
import { OwnerChangeDoc, OwnerChangeSchema } from './schemas/owner-change.schema';
import { OwnerChangeRepository } from './owner-change.repository';
import { ReplyAnnouncementRepository } from './reply-announcement.repository';
import { ReplyAnnouncementDoc, ReplyAnnouncementSchema } from './schemas/reply-announcement.schema';
import { SessionDoc, SessionSchema } from './schemas/session.schema';
import { TurnLeaseDoc, TurnLeaseSchema } from './schemas/turn-lease.schema';
import { SessionErasureService } from './session-erasure.service';
import { SessionEvents } from './session-events';
import { SessionNameIndex } from './session-name-index';
import { SessionRepository } from './session.repository';
import { SessionStatsRepository } from './session-stats.repository';
import { SessionStatsService } from './session-stats.service';
import { SessionService } from './session.service';
import { ShareDoc, ShareSchema } from './schemas/share.schema';
import { ShareRepository } from './share.repository';
import { ShareService } from './share.service';
import { TurnLeaseRepository } from './turn-lease.repository';

@Module({
  imports: [
    MongooseModule.forFeature([
      { name: SessionDoc.name, schema: SessionSchema },
      { name: MessageDoc.name, schema: MessageSchema },
      { name: ShareDoc.name, schema: ShareSchema },
      { name: TurnLeaseDoc.name, schema: TurnLeaseSchema },
      { name: OwnerChangeDoc.name, schema: OwnerChangeSchema },
      { name: ReplyAnnouncementDoc.name, schema: ReplyAnnouncementSchema },
    ]),
  ],
  providers: [
    SessionService,
    ShareService,
    SessionRepository,
    MessageRepository,
    ShareRepository,
    TurnLeaseRepository,
    OwnerChangeRepository,
    ReplyAnnouncementRepository,
    ContentCipher,
    SessionNameIndex,
    ActiveSessionsReporter,
    SessionStatsRepository,
    SessionStatsService,
    SessionEvents,
    SessionErasureService,
  ],
  exports: [SessionService, ShareService, SessionEvents, SessionStatsService, SessionErasureService],
})
export class SessionModule {}
