import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AppError } from '../common/errors/app-error';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { SignedDownloadQueryDto } from './dto/signed-download.query.dto';
import { LocalDiskObjectStorage } from './storage/local-disk-object-storage';
import { ObjectStorage } from './storage/object-storage';

/**
 * The disk driver's signed download URLs: no token, the signature is the authority. The type and
 * disposition are the signed ones, and nosniff keeps browsers from guessing another.
 */
@ApiTags('files')
@Controller('downloads')
export class DownloadController {
  constructor(private readonly storage: ObjectStorage) {}

  @ApiOperation({
    summary:
      'A file, through a URL GET /files/{id} signed (disk storage only; no token: the signature is the authority)',
  })
  @ApiProduces('*/*')
  @ApiOkResponse({ schema: { type: 'string' }, description: 'The bytes, as the signed type and disposition, nosniff' })
  @ApiErrors('invalid_payload', 'forbidden', 'not_found')
  @Get(':key')
  async download(
    @Param('key') key: string,
    @Query() query: SignedDownloadQueryDto,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    // With the S3 driver, downloads are the bucket's presigned URLs: nothing is served here.
    if (!(this.storage instanceof LocalDiskObjectStorage)) throw new AppError('not_found', 'No such file');
    const object = await this.storage.open(key, query);
    const maxAge = Math.max(0, Math.floor((object.expiresAt - Date.now()) / 1000));
    await reply
      .headers({
        'content-type': object.type,
        'content-length': String(object.size),
        'content-disposition': object.disposition,
        'x-content-type-options': 'nosniff',
        'cache-control': `private, max-age=${maxAge}`,
      })
      .send(object.stream);
  }
}
