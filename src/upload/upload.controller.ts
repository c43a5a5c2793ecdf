import { Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Req, Res, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiFoundResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { HttpAuthGuard } from '../auth/http-auth.guard';
import { Principal } from '../auth/principal';
import { AppError } from '../common/errors/app-error';
import { AppConfig } from '../config/app-config';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { USER_AUTH } from '../openapi/openapi';
import { UploadedFileResponseDto } from './dto/uploaded-file.response.dto';
import { contentDisposition } from './storage/content-disposition';
import { UploadService } from './upload.service';

/** The signed-in user's files. A file the caller may not see is indistinguishable from none (404). */
@ApiTags('files')
@ApiBearerAuth(USER_AUTH)
@ApiErrors('unauthorized', 'token_expired')
@Controller('files')
@UseGuards(HttpAuthGuard)
export class UploadController {
  constructor(
    private readonly uploads: UploadService,
    private readonly config: AppConfig,
  ) {}

  @ApiOperation({ summary: 'Uploads one file (multipart/form-data, one file part), typed by its content' })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } },
  })
  @ApiCreatedResponse({ type: UploadedFileResponseDto, description: '`{ fileId, name, type, size }`' })
  @ApiErrors(
    'invalid_payload',
    'file_too_large',
    'quota_exceeded',
    'unsupported_media_type',
    'unsupported_file_type',
    'rate_limited',
  )
  @Post()
  async upload(
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UploadedFileResponseDto> {
    if (!request.isMultipart()) throw new AppError('unsupported_media_type', 'Send the file as multipart/form-data');
    try {
      // One byte over the limit reaches the service, which refuses the file at that byte.
      const part = await request
        .file({ limits: { fileSize: this.config.upload.maxBytes + 1, files: 1, fields: 0 } })
        .catch((error: unknown) => {
          // The parser's own refusals carry a 4xx; anything else it throws is a body it cannot read.
          const status = (error as { statusCode?: number }).statusCode;
          throw status && status < 500 ? error : new AppError('invalid_payload', 'The multipart body is malformed');
        });
      if (!part) throw new AppError('invalid_payload', 'The body has no file part');
      return await this.uploads.upload(principal, { stream: part.file, filename: part.filename });
    } catch (error) {
      // The rest of the body is not read: the connection closes once the answer is sent.
      reply.header('connection', 'close');
      throw error;
    }
  }

  @ApiOperation({
    summary:
      'Redirects to a short-lived signed URL of the file (its owner, the user of the session it was sent in, or an admin there)',
  })
  @ApiFoundResponse({ description: 'Location: the signed URL, valid DOWNLOAD_URL_TTL_S seconds' })
  @ApiErrors('invalid_payload', 'not_found')
  @Get(':id')
  async download(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const url = await this.uploads.downloadUrl(principal, id);
    reply.header('cache-control', 'no-store').redirect(url, 302);
  }

  @ApiOperation({
    summary: 'The file itself, served by the app to whoever may see it (for pages that fetch with the token)',
  })
  @ApiProduces('*/*')
  @ApiOkResponse({ schema: { type: 'string' }, description: 'The bytes, with their type and disposition, nosniff' })
  @ApiErrors('invalid_payload', 'not_found')
  @Get(':id/content')
  async content(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { stream, file } = await this.uploads.content(principal, id);
    await reply
      .headers({
        'content-type': file.type,
        'content-length': String(file.size),
        'content-disposition': contentDisposition(file.name, file.kind === 'image'),
        'x-content-type-options': 'nosniff',
        'cache-control': 'private, no-store',
      })
      .send(stream);
  }

  @ApiOperation({ summary: 'Deletes one of your files: its bytes go, the record is marked deleted' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors('invalid_payload', 'not_found')
  @HttpCode(204)
  @Delete(':id')
  async remove(@CurrentPrincipal() principal: Principal, @Param('id', ParseUUIDPipe) id: string): Promise<void> {
    await this.uploads.remove(principal, id);
  }
}
