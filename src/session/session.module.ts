import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { ContentCipher } from './content-cipher';
import { MessageRepository } from './message.repository';
import { MessageDoc, MessageSchema } from './schemas/message.schema';
import { SessionDoc, SessionSchema } from './schemas/session.schema';
import { SessionRepository } from './session.repository';
import { SessionService } from './session.service';

@Module({
  imports: [
    MongooseModule.forFeature([
      { name: SessionDoc.name, schema: SessionSchema },
      { name: MessageDoc.name, schema: MessageSchema },
    ]),
  ],
  providers: [SessionService, SessionRepository, MessageRepository, ContentCipher],
  exports: [SessionService],
})
export class SessionModule {}
