import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DrainState } from '../drain-state';

@Injectable()
export class DrainingIndicator {
  constructor(
    private readonly drain: DrainState,
    private readonly indicator: HealthIndicatorService,
  ) {}

  check() {
    const session = this.indicator.check('shutdown');
    return this.drain.draining
      ? session.down({ message: 'draining', since: this.drain.startedAt?.toISOString() })
      : session.up();
  }
}
