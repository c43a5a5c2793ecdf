import { Global, Module } from '@nestjs/common';
import { RoomBroadcaster } from './room-broadcaster';

@Global()
@Module({ providers: [RoomBroadcaster], exports: [RoomBroadcaster] })
export class RealtimeModule {}
