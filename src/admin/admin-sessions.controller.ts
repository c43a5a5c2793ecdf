import { Controller, HttpCode, Param, ParseUUIDPipe, Post, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { ADMIN_AUTH } from '../openapi/openapi';
import { AdminAuthGuard } from '../auth/admin-auth.guard';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { Principal } from '../auth/principal';
import { TakeoverService } from './takeover.service';

/** Administrators' REST side of takeover (the rest of the admin API lives with it). */
@ApiTags('admin')
@ApiBearerAuth(ADMIN_AUTH)
@ApiErrors('unauthorized', 'token_expired', 'forbidden')
@Controller('admin/sessions')
@UseGuards(AdminAuthGuard)
export class AdminSessionsController {
  constructor(private readonly takeover: TakeoverService) {}

  /**
   * Hands a session an administrator holds back to the AI, whoever holds it (a colleague who left without
   * handing it back); the user is told. Idempotent: a session the AI owns is answered as it is.
   */
  @ApiOperation({ summary: 'Hands a session an administrator holds back to the AI (idempotent)' })
  @ApiOkResponse({ description: 'The session as the admin queue shows it' })
  @ApiErrors('invalid_payload', 'not_found')
  @Post(':id/release')
  @HttpCode(200)
  release(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Req() request: FastifyRequest,
  ) {
    return this.takeover.forceRelease({ principal, requestId: request.id }, id);
  }
}
