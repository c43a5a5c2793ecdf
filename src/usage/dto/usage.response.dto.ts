import { ApiProperty, ApiPropertyOptions } from '@nestjs/swagger';
import {
  BUCKETS,
  type BucketUnit,
  type ConcurrencyFigures,
  type HelpFigures,
  type MessageCounts,
  type ModelUsage,
  type ResponseTimeFigures,
  type SessionFigures,
  type TokenCounts,
  type TokenFigures,
  type TurnFigures,
  type UsageFigures,
} from '../usage-figures';
import type { MetricsResult, UserUsageResult } from '../usage.service';

// The response shapes for the OpenAPI document; `implements` keeps them in step with what UsageService returns.

const count = (description?: string): ApiPropertyOptions => ({ type: 'integer', minimum: 0, description });
const orNull = (description: string): ApiPropertyOptions => ({ type: Number, nullable: true, description });

class SessionFiguresDto implements SessionFigures {
  @ApiProperty(count('Sessions started in the range')) started!: number;
  @ApiProperty(count('Sessions ended in the range')) ended!: number;
  @ApiProperty(count('Of the sessions started, those an administrator took over at some point')) assisted!: number;
  @ApiProperty(orNull('assisted / started, from 0 to 1; null when none started')) assistedShare!: number | null;
}

class ConcurrencyFiguresDto implements ConcurrencyFigures {
  @ApiProperty(count('Samples of the active sessions taken in the range (one per METRICS_SAMPLE_MS)'))
  samples!: number;
  @ApiProperty(orNull('Average of the samples; null without any')) average!: number | null;
  @ApiProperty(orNull('Largest sample; null without any')) max!: number | null;
}

class MessageCountsDto implements MessageCounts {
  @ApiProperty(count()) user!: number;
  @ApiProperty(count()) ai!: number;
  @ApiProperty(count()) admin!: number;
  @ApiProperty(count('Transcript markers: help requests, takeovers, hand-backs')) system!: number;
}

class TokenCountsDto implements TokenCounts {
  @ApiProperty(count()) promptTokens!: number;
  @ApiProperty(count()) completionTokens!: number;
}

const ESTIMATED: ApiPropertyOptions = {
  type: () => TokenCountsDto,
  description: 'The part estimated, the provider having reported none',
};

class ModelUsageDto extends TokenCountsDto implements ModelUsage {
  @ApiProperty({ type: String, nullable: true, description: 'The model id stored with the replies; null for none' })
  modelId!: string | null;
  @ApiProperty({
    description: 'Whether LLM_MODELS configures the model now: false for one removed since, or for no model',
  })
  configured!: boolean;
  @ApiProperty(count('AI replies stored in the range')) replies!: number;
  @ApiProperty(ESTIMATED) estimated!: TokenCountsDto;
  @ApiProperty(orNull("At the model's configured prices; null when it has none or is no longer configured"))
  estimatedCost!: number | null;
}

class TokenFiguresDto extends TokenCountsDto implements TokenFigures {
  @ApiProperty(ESTIMATED) estimated!: TokenCountsDto;
  @ApiProperty(orNull('The sum over the models with prices; null when none has')) estimatedCost!: number | null;
  @ApiProperty({ type: () => [ModelUsageDto] }) byModel!: ModelUsageDto[];
}

class ResponseTimeFiguresDto implements ResponseTimeFigures {
  @ApiProperty(count('AI replies with a first delta: the figures below are over them')) replies!: number;
  @ApiProperty(orNull('From the start of the model call (retries and fallback included) to its first delta'))
  averageMs!: number | null;
  @ApiProperty(orNull('Nearest-rank median')) p50Ms!: number | null;
  @ApiProperty(orNull('Nearest-rank 95th percentile')) p95Ms!: number | null;
  @ApiProperty(orNull('The slowest')) maxMs!: number | null;
}

class TurnFiguresDto implements TurnFigures {
  @ApiProperty(count()) complete!: number;
  @ApiProperty(count()) stopped!: number;
  @ApiProperty(count()) interrupted!: number;
  @ApiProperty(count()) failed!: number;
}

class HelpFiguresDto implements HelpFigures {
  @ApiProperty(count('Requests for a human made in the range')) requests!: number;
  @ApiProperty(count('Takeovers in the range that answered an open request')) pickups!: number;
  @ApiProperty(orNull('From the request to its takeover')) pickupAverageMs!: number | null;
  @ApiProperty(orNull('Nearest-rank 95th percentile')) pickupP95Ms!: number | null;
}

class UsageFiguresDto implements UsageFigures {
  @ApiProperty({ type: () => SessionFiguresDto }) sessions!: SessionFiguresDto;
  @ApiProperty({ type: () => ConcurrencyFiguresDto }) concurrency!: ConcurrencyFiguresDto;
  @ApiProperty({ type: () => MessageCountsDto }) messages!: MessageCountsDto;
  @ApiProperty({ type: () => TokenFiguresDto }) tokens!: TokenFiguresDto;
  @ApiProperty({ type: () => ResponseTimeFiguresDto }) responseTime!: ResponseTimeFiguresDto;
  @ApiProperty({ type: () => TurnFiguresDto, description: 'Outcomes of the AI replies stored in the range' })
  turns!: TurnFiguresDto;
  @ApiProperty({ type: () => HelpFiguresDto }) help!: HelpFiguresDto;
  @ApiProperty(count('Sessions an administrator took over in the range')) takeovers!: number;
}

class MetricsBucketDto extends UsageFiguresDto {
  @ApiProperty({ type: String, format: 'date-time', description: 'The UTC hour or day, cut to the range' })
  start!: string;
  @ApiProperty({ type: String, format: 'date-time' }) end!: string;
}

/** `GET /admin/metrics`. */
export class MetricsResponseDto {
  @ApiProperty({ type: String, format: 'date-time' }) from!: string;
  @ApiProperty({ type: String, format: 'date-time' }) to!: string;
  @ApiProperty({ enum: BUCKETS }) bucket!: BucketUnit;
  @ApiProperty({ type: () => UsageFiguresDto, description: 'The whole range' }) totals!: UsageFiguresDto;
  @ApiProperty({ type: () => [MetricsBucketDto], description: 'Every bucket of the range in order, empty ones too' })
  buckets!: MetricsBucketDto[];
}

class UserSessionFiguresDto {
  @ApiProperty(count("The user's sessions started in the range")) started!: number;
}

/** `GET /admin/users/:userId/usage`. */
export class UserUsageResponseDto {
  @ApiProperty({ type: String }) userId!: string;
  @ApiProperty({ type: String, format: 'date-time' }) from!: string;
  @ApiProperty({ type: String, format: 'date-time' }) to!: string;
  @ApiProperty({ type: () => UserSessionFiguresDto }) sessions!: UserSessionFiguresDto;
  @ApiProperty({ type: () => MessageCountsDto, description: "Messages in the user's sessions in the range" })
  messages!: MessageCountsDto;
  @ApiProperty({ type: () => TokenFiguresDto }) tokens!: TokenFiguresDto;
}

/**
 * Costs are shown to a millionth, each rounded once, here, from its exact sum: float noise
 * (0.30000000000000004) never shows, and the buckets' (or the models') costs add up to the total within
 * half a millionth each.
 */
const money = (value: number | null) => (value === null ? null : Math.round(value * 1e6) / 1e6);

function shownTokens(tokens: TokenFigures): TokenFigures {
  return {
    ...tokens,
    estimatedCost: money(tokens.estimatedCost),
    byModel: tokens.byModel.map((m) => ({ ...m, estimatedCost: money(m.estimatedCost) })),
  };
}

const shown = (figures: UsageFigures): UsageFigures => ({ ...figures, tokens: shownTokens(figures.tokens) });

export function toMetricsResponse(result: MetricsResult): MetricsResponseDto {
  return {
    from: result.range.from.toISOString(),
    to: result.range.to.toISOString(),
    bucket: result.bucket,
    totals: shown(result.totals),
    buckets: result.buckets.map(({ start, end, figures }) => ({
      start: start.toISOString(),
      end: end.toISOString(),
      ...shown(figures),
    })),
  };
}

export function toUserUsageResponse(result: UserUsageResult): UserUsageResponseDto {
  return {
    userId: result.userId,
    from: result.range.from.toISOString(),
    to: result.range.to.toISOString(),
    sessions: { started: result.sessionsStarted },
    messages: result.figures.messages,
    tokens: shownTokens(result.figures.tokens),
  };
}
