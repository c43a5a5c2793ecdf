import { Controller, Delete, Get, HttpCode, Req, StreamableFile, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { HttpAuthGuard } from '../auth/http-auth.guard';
import { Principal } from '../auth/principal';
import { DataRightsService } from '../data-rights/data-rights.service';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { USER_AUTH } from '../openapi/openapi';
import { ErasureResponseDto } from './dto/erasure.response.dto';

/** The signed-in user's data as a whole. */
@ApiTags('me')
@ApiBearerAuth(USER_AUTH)
@ApiErrors('unauthorized', 'token_expired', 'rate_limited')
@Controller('me')
@UseGuards(HttpAuthGuard)
export class MeController {
  constructor(private readonly dataRights: DataRightsService) {}

  @ApiOperation({
    summary: 'Erases every session of the user, with its messages, links and notifications (audited; idempotent)',
  })
  @ApiOkResponse({ type: ErasureResponseDto, description: 'How many records of each kind were deleted' })
  @ApiErrors('busy')
  @Delete()
  @HttpCode(200)
  erase(@CurrentPrincipal() principal: Principal, @Req() request: FastifyRequest) {
    return this.dataRights.eraseUser(principal, request.id);
  }

  @ApiOperation({ summary: 'A zip of every session of the user with its messages (decrypted), streamed' })
  @ApiProduces('application/zip')
  @ApiOkResponse({
    schema: { type: 'string', format: 'binary' },
    description:
      '`index.json` (`{ userId, exportedAt, sessions: [session + file] }`), then `sessions/<id>.json` for each ' +
      '(`{ session, messages }`, messages in seq order); sent as `Content-Disposition: attachment`',
  })
  @Get('export')
  async export(@CurrentPrincipal() principal: Principal) {
    const day = new Date().toISOString().slice(0, 10);
    return new StreamableFile(await this.dataRights.exportUser(principal), {
      type: 'application/zip',
      disposition: `attachment; filename="chatbox-export-${day}.zip"`,
    });
  }
}
