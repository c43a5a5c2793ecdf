import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { DataRightsModule } from '../data-rights/data-rights.module';
import { RouterModule } from '../router/router.module';
import { SessionModule } from '../session/session.module';
import { MeController } from './me.controller';
import { SessionsController } from './sessions.controller';
import { SharedViewController, SharesController } from './shares.controller';

/** The signed-in user's REST API: transport over the session and router services. */
@Module({
  imports: [SessionModule, RouterModule, AuthModule, DataRightsModule],
  controllers: [MeController, SessionsController, SharesController, SharedViewController],
})
export class UserApiModule {}
