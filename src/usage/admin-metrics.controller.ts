import { Controller, Get, Query, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminAuthGuard } from '../auth/admin-auth.guard';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { ADMIN_AUTH } from '../openapi/openapi';
import { MetricsQueryDto } from './dto/usage-query.dto';
import { MetricsResponseDto, toMetricsResponse } from './dto/usage.response.dto';
import { HeavyReadInterceptor } from './heavy-read.interceptor';
import { UsageService } from './usage.service';

/** Usage over a time range, for administrators. */
@ApiTags('admin')
@ApiBearerAuth(ADMIN_AUTH)
@ApiErrors('invalid_payload', 'unauthorized', 'token_expired', 'forbidden', 'rate_limited', 'too_many_requests')
@Controller('admin/metrics')
@UseGuards(AdminAuthGuard)
@UseInterceptors(HeavyReadInterceptor)
export class AdminMetricsController {
  constructor(private readonly usage: UsageService) {}

  @ApiOperation({
    summary: 'Sessions, concurrency, messages, tokens and cost, response times, turns, help and takeovers',
    description:
      'Totals over [from, to) and one entry per UTC hour or day. The range is at most ADMIN_METRICS_MAX_RANGE_DAYS long.',
  })
  @ApiOkResponse({ type: MetricsResponseDto, description: 'The figures of the whole range and of each bucket' })
  @Get()
  async metrics(@Query() query: MetricsQueryDto): Promise<MetricsResponseDto> {
    return toMetricsResponse(await this.usage.metrics(query));
  }
}
