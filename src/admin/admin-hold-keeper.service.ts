import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Periodic } from '../common/timers/periodic';
import { AppConfig } from '../config/app-config';
import { SessionService } from '../session/session.service';
import { AdminGateway } from './admin.gateway';
import { TakeoverService } from './takeover.service';

/**
 * Every ADMIN hold-check interval, on every replica: the sessions held by administrators connected here
 * are marked seen, then sessions whose holder has been gone (no socket on any replica) or idle too long
 * are handed back to the AI. A dead replica's administrators simply stop being seen; the fenced owner
 * change lets exactly one replica make each release.
 */
@Injectable()
export class AdminHoldKeeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AdminHoldKeeper.name);
  private readonly periodic: Periodic;

  constructor(
    private readonly config: AppConfig,
    private readonly gateway: AdminGateway,
    private readonly sessions: SessionService,
    private readonly takeover: TakeoverService,
  ) {
    this.periodic = new Periodic(() => this.beat(), this.config.admin.holdCheckMs);
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  onApplicationShutdown(): void {
    this.periodic.stop();
  }

  private async beat(): Promise<void> {
    try {
      await this.sessions.touchHolds(this.gateway.localAdminIds());
      await this.takeover.releaseAbandoned();
    } catch (error) {
      this.logger.warn({ err: error }, 'administrator holds not checked; retrying next interval');
    }
  }
}
