import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { METRICS_AUTH } from '../openapi/openapi';
import { MetricsGuard } from './metrics.guard';

@ApiTags('probes')
@ApiBearerAuth(METRICS_AUTH)
@Controller()
export class MetricsController extends PrometheusController {
  @ApiOperation({ summary: 'Prometheus metrics (not under the path prefix; on METRICS_PORT when set)' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ schema: { type: 'string' }, description: 'The Prometheus text format' })
  @ApiErrors('unauthorized')
  @Get()
  @UseGuards(MetricsGuard)
  override index(@Res({ passthrough: true }) response: unknown): Promise<string> {
    return super.index(response);
  }
}
