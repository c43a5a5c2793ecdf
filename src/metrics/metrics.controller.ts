import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { MetricsGuard } from './metrics.guard';

@Controller()
export class MetricsController extends PrometheusController {
  @Get()
  @UseGuards(MetricsGuard)
  override index(@Res({ passthrough: true }) response: unknown): Promise<string> {
    return super.index(response);
  }
}
