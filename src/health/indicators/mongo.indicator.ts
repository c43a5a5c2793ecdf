import { Injectable } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Connection } from 'mongoose';
import { withTimeout } from '../../common/timers/with-timeout';

/** A real round trip to the server: the connection state alone lags a dead server by a heartbeat (10 s). */
@Injectable()
export class MongoIndicator {
  constructor(
    @InjectConnection() private readonly connection: Connection,
    private readonly indicator: HealthIndicatorService,
  ) {}

  async ping(timeoutMs: number) {
    const session = this.indicator.check('mongodb');
    try {
      const db = this.connection.db;
      if (!db) return session.down({ message: 'not connected' });
      await withTimeout(db.admin().ping(), timeoutMs);
      return session.up();
    } catch (error) {
      return session.down({ message: (error as Error).message });
    }
  }
}
