import { IncomingMessage, ServerResponse } from 'node:http';
import { DynamicModule, Module, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { AppConfig } from '../../config/app-config';

// Secrets never reach a log line, wherever they appear in a logged object.
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.token',
  '*.accessToken',
  '*.password',
  '*.secret',
  '*.jwtSecret',
  '*.apiKey',
];

// @fastify/middie copies these onto the raw request that middleware (pino-http) sees.
type FastifyRawRequest = IncomingMessage & { id?: string; ip?: string; originalUrl?: string };

/** `/shared/<token>` under any prefix: the page and the REST view of a share link. */
const SHARE_TOKEN_PATH = /(\/shared\/)[^/]+/;

@Module({})
export class LoggingModule {
  static forRoot(destination?: DestinationStream): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            // Every route, written as path-to-regexp 8 reads it: nestjs-pino's default (`*`) makes Nest warn at
            // every boot once the global prefix is added to it.
            forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
            pinoHttp: [
              {
                level: config.logging.level,
                redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
                // Fastify assigned the request id and resolved the client ip (trusting only TRUSTED_PROXIES).
                genReqId: (req: IncomingMessage) => (req as FastifyRawRequest).id ?? '',
                serializers: {
                  req: (req: { raw: FastifyRawRequest; headers: Record<string, unknown> }) => ({
                    id: req.raw.id,
                    method: req.raw.method,
                    // The path alone (query strings may carry values that do not belong in logs), and never a
                    // share link's token: it is the link's whole secret.
                    path: (req.raw.originalUrl ?? req.raw.url ?? '')
                      .split('?')[0]
                      .replace(SHARE_TOKEN_PATH, '$1[token]'),
                    ip: req.raw.ip,
                    headers: req.headers,
                  }),
                  res: (res: { raw: ServerResponse }) => ({ statusCode: res.raw.statusCode }),
                },
                customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
                  err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
              },
              destination ?? process.stdout,
            ],
          }),
        }),
      ],
    };
  }
}
