import { Controller, Get, HttpException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';
import { AppError } from '../common/errors/app-error';
import { AppConfig } from '../config/app-config';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { LivenessResponseDto, ReadinessResponseDto } from './dto/health.response.dto';
import { DrainingIndicator } from './indicators/draining.indicator';
import { MongoIndicator } from './indicators/mongo.indicator';
import { RedisIndicator } from './indicators/redis.indicator';

@ApiTags('probes')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly mongo: MongoIndicator,
    private readonly redis: RedisIndicator,
    private readonly draining: DrainingIndicator,
    private readonly config: AppConfig,
  ) {}

  /** Liveness: the process answers. It checks nothing external, so an outage never restarts pods. */
  @ApiOperation({ summary: 'Liveness' })
  @ApiOkResponse({ type: LivenessResponseDto, description: '`{ status: "ok" }`' })
  @ApiErrors('internal_error')
  @Get('healthz')
  live() {
    return { status: 'ok' };
  }

  /** Readiness: MongoDB answers, Redis answers when configured, and the process is not draining. */
  @ApiOperation({ summary: 'Readiness: MongoDB, Redis when configured, not draining' })
  @ApiOkResponse({ type: ReadinessResponseDto, description: 'Every check up' })
  @ApiErrors('not_ready')
  @Get('readyz')
  async ready() {
    const timeout = this.config.mongo.readinessTimeoutMs;
    const checks: HealthIndicatorFunction[] = [() => this.draining.check(), () => this.mongo.ping(timeout)];
    if (this.config.redis.url) checks.push(() => this.redis.ping(timeout));
    try {
      return await this.health.check(checks);
    } catch (error) {
      if (!(error instanceof HttpException)) throw error;
      const { details } = error.getResponse() as { details: Record<string, unknown> };
      throw new AppError('not_ready', 'Not ready', { checks: details });
    }
  }
}
