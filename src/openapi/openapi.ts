import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppConfig } from '../config/app-config';
import { ErrorResponseDto } from './error-response.dto';

/** Security scheme names: a user's token, an administrator's token, the metrics bearer token. */
export const USER_AUTH = 'user';
export const ADMIN_AUTH = 'admin';
export const METRICS_AUTH = 'metrics';

/** The service's version, from its package.json beside `src` or `dist`; a deployment without it still starts. */
function packageVersion(): string {
  try {
    const { version } = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof version === 'string' ? version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * The OpenAPI 3 document of every REST route, at `<prefix>/openapi.json`, and its UI at `<prefix>/docs` when
 * OPENAPI_UI allows (by default outside production). Call after the global prefix is set, before listening.
 */
export function setupOpenApi(app: NestFastifyApplication, config: AppConfig): void {
  const bearer = (description: string) => ({
    type: 'http' as const,
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description,
  });
  const options = new DocumentBuilder()
    .setTitle('Chatbox')
    .setDescription(
      'REST side of Chatbox. Conversations themselves run over Socket.IO (namespaces /chat and /admin). ' +
        'Every error answers with the ErrorResponse shape.',
    )
    .setVersion(packageVersion())
    .addBearerAuth(bearer("The host application's JWT for the user"), USER_AUTH)
    .addBearerAuth(bearer('A JWT with the admin role'), ADMIN_AUTH)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN' }, METRICS_AUTH)
    .build();
  SwaggerModule.setup(
    'docs',
    app,
    () => SwaggerModule.createDocument(app, options, { extraModels: [ErrorResponseDto] }),
    {
      useGlobalPrefix: true,
      jsonDocumentUrl: 'openapi.json',
      raw: ['json'],
      ui: config.http.openApiUi,
    },
  );
}
