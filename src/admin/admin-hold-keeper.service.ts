import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
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
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly config: AppConfig,
    private readonly gateway: AdminGateway,
    private readonly sessions: SessionService,
    private readonly takeover: TakeoverService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.beat().finally(() => (this.running = undefined));
    }, this.config.admin.holdCheckMs);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
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
