import { Injectable } from '@nestjs/common';

/** Set once on SIGTERM: from then on readiness fails so the load balancer stops sending traffic. */
@Injectable()
export class DrainState {
  private since?: Date;

  begin(): void {
    this.since ??= new Date();
  }

  get draining(): boolean {
    return this.since !== undefined;
  }

  get startedAt(): Date | undefined {
    return this.since;
  }
}
