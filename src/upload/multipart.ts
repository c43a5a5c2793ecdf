import multipart from '@fastify/multipart';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppError } from '../common/errors/app-error';

/**
 * Multipart bodies, for the upload route only (every other route keeps answering them 415). The
 * plugin's parser reads nothing: the upload streams the file part itself.
 */
export async function acceptMultipartUploads(app: NestFastifyApplication, pathPrefix: string): Promise<void> {
  await app.register(multipart);
  const uploadUrl = `${pathPrefix}/files`;
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('preValidation', (request, _reply, done) => {
      const elsewhere = request.isMultipart() && !(request.method === 'POST' && request.routeOptions.url === uploadUrl);
      done(
        elsewhere ? new AppError('unsupported_media_type', 'Unsupported Media Type: multipart/form-data') : undefined,
      );
    });
}
