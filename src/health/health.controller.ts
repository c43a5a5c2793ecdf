import { Controller, Get, HttpException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheckResult, HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';
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

  /**
   * Readiness: MongoDB answers and the process is not draining. Redis, when configured, is reported but does
   * not decide: an outage of the one Redis would otherwise take every replica out of the load balancer at
   * once, when each can still serve what needs only MongoDB. The replica reports itself degraded instead
   * (`degraded`, and the `chatbox_degraded` metric).
   */
  @ApiOperation({ summary: 'Readiness: MongoDB and not draining; Redis reported (degraded), not required' })
  @ApiOkResponse({ type: ReadinessResponseDto, description: 'Ready; `degraded` names a dependency that is down' })
  @ApiErrors('not_ready')
  @Get('readyz')
  async ready() {
    const timeout = this.config.mongo.readinessTimeoutMs;
    const checks: HealthIndicatorFunction[] = [() => this.draining.check(), () => this.mongo.ping(timeout)];
    const redis = this.config.redis.url ? this.redis.ping(timeout) : undefined;
    let result: HealthCheckResult;
    try {
      result = await this.health.check(checks);
    } catch (error) {
      if (!(error instanceof HttpException)) throw error;
      const { details } = error.getResponse() as { details: Record<string, unknown> };
      throw new AppError('not_ready', 'Not ready', { checks: { ...details, ...(redis ? await redis : {}) } });
    }
    if (!redis) return { ...result, degraded: [] };
    const redisResult = await redis;
    const up = redisResult.redis.status === 'up';
    return {
      ...result,
      info: { ...result.info, ...(up ? redisResult : {}) },
      error: { ...result.error, ...(up ? {} : redisResult) },
      details: { ...result.details, ...redisResult },
      degraded: up ? [] : ['redis'],
    };
  }
}
