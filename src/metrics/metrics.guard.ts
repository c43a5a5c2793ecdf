import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { AppError } from '../common/errors/app-error';
import { AppConfig } from '../config/app-config';
import { bearerMatches } from './bearer-token';

/** `/metrics` on the main port: absent when METRICS_PORT serves it, else bearer-token only. */
@Injectable()
export class MetricsGuard implements CanActivate {
  constructor(private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const { token, port } = this.config.metrics;
    if (port !== undefined || token === undefined) throw new AppError('not_found', 'Not found');
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
    if (!bearerMatches(request.headers.authorization, token)) {
      throw new AppError('unauthorized', 'A valid metrics bearer token is required');
    }
    return true;
  }
}
