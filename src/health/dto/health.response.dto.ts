import { ApiProperty } from '@nestjs/swagger';

/** `GET /healthz`. */
export class LivenessResponseDto {
  @ApiProperty({ enum: ['ok'] }) status!: 'ok';
}

type IndicatorResults = Record<string, { status: 'up' | 'down' }>;

// Terminus's indicator results: each check by name, `up` or `down`, with what the indicator adds.
const indicatorResults = (description: string) => ({
  type: 'object' as const,
  additionalProperties: {
    type: 'object',
    properties: { status: { type: 'string', enum: ['up', 'down'] } },
    required: ['status'],
    additionalProperties: true,
  },
  example: { shutdown: { status: 'up' }, mongodb: { status: 'up' } },
  description,
});

/** `GET /readyz` when the checks it needs are up (terminus's HealthCheckResult, and what is degraded). */
export class ReadinessResponseDto {
  @ApiProperty({ enum: ['ok'] }) status!: 'ok';
  @ApiProperty(indicatorResults('The checks that are up: `shutdown`, `mongodb`, and `redis` when configured'))
  info!: IndicatorResults;
  @ApiProperty(indicatorResults('The checks that are down: on a 200, only `redis`, which readiness does not need'))
  error!: IndicatorResults;
  @ApiProperty(indicatorResults('Every check')) details!: IndicatorResults;
  @ApiProperty({
    type: [String],
    enum: ['redis'],
    description: 'Dependencies that are down but not needed to serve (the replica is degraded); empty when none',
  })
  degraded!: 'redis'[];
}
