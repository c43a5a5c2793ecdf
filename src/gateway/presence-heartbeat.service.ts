import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Periodic } from '../common/timers/periodic';
import { AppConfig } from '../config/app-config';
import { MessageRouter } from '../router/message-router.service';
import { SessionService } from '../session/session.service';
import { ChatGateway } from './chat.gateway';

/**
 * Every interval: the sessions this replica's devices hold are marked seen, then sessions no
 * replica has seen for the reconnect window are ended. Every replica runs it; the database's
 * conditional updates make that safe, and a dead replica's sessions simply stop being seen.
 */
@Injectable()
export class PresenceHeartbeat implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PresenceHeartbeat.name);
  private readonly periodic: Periodic;

  constructor(
    private readonly config: AppConfig,
    private readonly gateway: ChatGateway,
    private readonly sessions: SessionService,
    private readonly router: MessageRouter,
  ) {
    this.periodic = new Periodic(() => this.beat(), this.config.chat.sweepIntervalMs);
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  onApplicationShutdown(): void {
    this.periodic.stop();
  }

  private async beat(): Promise<void> {
    try {
      const held = this.gateway.localSessionIds();
      await this.sessions.markSeen(held);
      await this.router.resumeOwedTurns(held);
      await this.router.sweep();
    } catch (error) {
      this.logger.warn({ err: error }, 'presence heartbeat failed; retrying next interval');
    }
  }
}
