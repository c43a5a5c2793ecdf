import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Connection } from 'mongoose';
import { Gauge } from 'prom-client';
import { Periodic } from '../common/timers/periodic';
import { AppConfig } from '../config/app-config';
import { LeadershipStore } from '../coordination/leadership.store';
import { ACTIVE_SESSIONS } from '../metrics/chatbox.metrics';
import { SessionService } from './session.service';

/**
 * `chatbox_active_sessions` is a cluster figure, so it is read from the database, on a bounded
 * interval, by one replica at a time; the others report 0. `sum()` over replicas is then the truth,
 * through restarts and crashes (a dead reporter's role passes on after three intervals).
 */
@Injectable()
export class ActiveSessionsReporter implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ActiveSessionsReporter.name);
  private readonly holder = randomUUID();
  /** One reporter per database: deployments that share a Redis never report each other's figure. */
  private readonly role: string;
  private readonly periodic: Periodic;
  private stopped = false;

  constructor(
    private readonly config: AppConfig,
    private readonly sessions: SessionService,
    private readonly leadership: LeadershipStore,
    @InjectMetric(ACTIVE_SESSIONS) private readonly gauge: Gauge<string>,
    @InjectConnection() connection: Connection,
  ) {
    this.periodic = new Periodic(() => this.refresh(), this.config.metrics.refreshMs);
    this.role = `active-sessions-gauge:${connection.name}`;
  }

  onApplicationBootstrap(): void {
    this.periodic.start({ now: true });
  }

  /** A refresh under way is not waited for (it may be blocked on the database); it gives the role back itself. */
  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.periodic.stop();
    this.gauge.set(0);
    await this.leadership.release(this.role, this.holder).catch(() => undefined);
  }

  private async refresh(): Promise<void> {
    try {
      const leading = await this.leadership.hold(this.role, this.holder, this.config.metrics.refreshMs * 3);
      if (this.stopped) {
        // Taken as the replica stopped: given back, or the role would stay here for three intervals.
        await this.leadership.release(this.role, this.holder);
        return;
      }
      const count = leading ? await this.sessions.countActive() : 0;
      if (!this.stopped) this.gauge.set(count);
    } catch (error) {
      // Not sure to hold the role any more: another replica may take it, and the sum must not double.
      this.gauge.set(0);
      this.logger.warn({ err: error }, 'could not refresh the active sessions gauge');
    }
  }
}
