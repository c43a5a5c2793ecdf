import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { RouterModule } from '../router/router.module';
import { SessionModule } from './session.module';
import { SessionsController } from './sessions.controller';

@Module({ imports: [SessionModule, RouterModule, AuthModule], controllers: [SessionsController] })
export class SessionHttpModule {}
