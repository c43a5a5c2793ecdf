import { randomUUID } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import helmet from '@fastify/helmet';
import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { AppModule, AppModuleOptions } from './app.module';
import { AppError } from './common/errors/app-error';
import { acceptJsonBodiesOnly } from './common/http/json-body.parser';
import { securityHeaders } from './common/http/security-headers';
import { clientErrorHandler, frameworkErrorHandler } from './common/http/unrouted-errors';
import { AppConfig } from './config/app-config';
import { RedisIoAdapter } from './gateway/redis-io.adapter';
import { setupOpenApi } from './openapi/openapi';
import { acceptMultipartUploads } from './upload/multipart';
import { registerWebPages } from './web/web-pages';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** A caller's X-Request-Id is kept when it is short and plain; otherwise a new one is made. */
function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Builds the application exactly as production runs it; main and the tests both use this. */
export async function createApp(config: AppConfig, options: AppModuleOptions = {}): Promise<NestFastifyApplication> {
  const { http } = config;
  const adapter = new FastifyAdapter({
    // X-Forwarded-For is believed only from the configured proxies; otherwise the socket peer is the client.
    trustProxy: http.trustedProxies.length > 0 ? http.trustedProxies : false,
    bodyLimit: http.bodyLimitBytes,
    genReqId: requestId,
    requestTimeout: 30000,
    forceCloseConnections: true,
    return503OnClosing: true,
    clientErrorHandler: clientErrorHandler(http),
    frameworkErrors: frameworkErrorHandler(http),
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options), adapter, {
    bufferLogs: true,
    abortOnError: false,
    // Nest's parsers would add form bodies; acceptJsonBodiesOnly below installs the only one.
    bodyParser: false,
  });
  acceptJsonBodiesOnly(app.getHttpAdapter().getInstance(), http.bodyLimitBytes);
  await acceptMultipartUploads(app, http.pathPrefix);
  app.useLogger(app.get(Logger));
  app.flushLogs();
  for (const warning of config.warnings)
    app.get(Logger).warn(`${warning} (REQUIRE_DATASTORE_AUTH=true would refuse to start)`);
  const ioAdapter = new RedisIoAdapter(app, config);
  await ioAdapter.connect();
  app.useWebSocketAdapter(ioAdapter);

  await app.register(helmet, securityHeaders(http));
  app.enableCors({ origin: http.corsOrigins, credentials: false, maxAge: 600 });
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onSend', async (request, reply) => {
      reply.header('x-request-id', request.id);
    });
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) =>
        new AppError('invalid_payload', errors.flatMap((e) => Object.values(e.constraints ?? {})).join('; ')),
    }),
  );
  app.setGlobalPrefix(http.pathPrefix, { exclude: ['metrics'] });
  setupOpenApi(app, config);
  await registerWebPages(app, config);
  return app;
}
