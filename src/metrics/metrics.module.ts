import { DynamicModule, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { chatboxMetricProviders } from './chatbox.metrics';
import { HttpMetricsHook } from './http-metrics.hook';
import { MetricsPortServer } from './metrics-port.server';
import { MetricsController } from './metrics.controller';

@Module({})
export class MetricsModule {
  // Registering collects the default process metrics, so it happens when the app is built, not at import.
  static forRoot(): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      imports: [
        PrometheusModule.register({
          path: '/metrics',
          controller: MetricsController,
          defaultMetrics: { enabled: true },
        }),
      ],
      providers: [...chatboxMetricProviders, HttpMetricsHook, MetricsPortServer],
      exports: [...chatboxMetricProviders],
    };
  }
}
