import { Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { ADMIN_AUTH } from '../openapi/openapi';
import { AdminAuthGuard } from '../auth/admin-auth.guard';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { Principal } from '../auth/principal';
import { MessagesPageQueryDto } from '../user-api/dto/messages-page.query.dto';
import { SessionViewDto } from '../openapi/schemas/session-view.dto';
import { AdminSessionsService } from './admin-sessions.service';
import { AdminSessionTranscriptResponseDto } from './dto/admin-session-transcript.response.dto';
import { AdminSessionsListResponseDto } from './dto/admin-sessions-page.response.dto';
import { AdminSessionsQueryDto } from './dto/admin-sessions-query.dto';
import { TakeoverService } from './takeover.service';

/** Administrators' REST side of takeover (the rest of the admin API lives with it). */
@ApiTags('admin')
@ApiBearerAuth(ADMIN_AUTH)
@ApiErrors('unauthorized', 'token_expired', 'forbidden', 'rate_limited')
@Controller('admin/sessions')
@UseGuards(AdminAuthGuard)
export class AdminSessionsController {
  constructor(
    private readonly takeover: TakeoverService,
    private readonly adminSessions: AdminSessionsService,
  ) {}

  @ApiOperation({
    summary:
      'Every session, filtered and sorted; pages by a cursor on (sort field, id): a session whose sort value ' +
      'does not change is shown once, never skipped; one whose sort value changes may move across the cursor',
  })
  @ApiOkResponse({
    type: AdminSessionsListResponseDto,
    description:
      '`{ sessions, nextCursor, total }`: `nextCursor` null on the last page; `total` (every match) only with `withTotal=true`',
  })
  @ApiErrors('invalid_payload')
  @Get()
  list(@Query() query: AdminSessionsQueryDto) {
    return this.adminSessions.list(query);
  }

  @ApiOperation({ summary: 'Any session, with a page of its transcript read backwards; the view is audited' })
  @ApiOkResponse({
    type: AdminSessionTranscriptResponseDto,
    description: '`{ session, messages, hasMore }` (the session as the admin queue shows it)',
  })
  @ApiErrors('invalid_payload', 'not_found', 'unavailable')
  @Get(':id')
  view(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: MessagesPageQueryDto,
    @Req() request: FastifyRequest,
  ) {
    return this.adminSessions.view({ principal, requestId: request.id }, id, {
      beforeSeq: query.beforeSeq,
      limit: query.limit,
    });
  }

  @ApiOperation({ summary: 'Ends any session; a reply under way stops and the user is told (idempotent, audited)' })
  @ApiOkResponse({ type: SessionViewDto, description: 'The session, ended, as its user sees it' })
  @ApiErrors('invalid_payload', 'not_found')
  @Post(':id/end')
  @HttpCode(200)
  end(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Req() request: FastifyRequest,
  ) {
    return this.adminSessions.end({ principal, requestId: request.id }, id);
  }

  /**
   * Hands a session an administrator holds back to the AI, whoever holds it (a colleague who left without
   * handing it back); the user is told. Idempotent: a session the AI owns is answered as it is.
   */
  @ApiOperation({ summary: 'Hands a session an administrator holds back to the AI (idempotent)' })
  @ApiOkResponse({ type: SessionViewDto, description: 'The session, handed back, as its user sees it' })
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
