import { Controller, Get, Header, HttpCode, Param, ParseUUIDPipe, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { USER_AUTH } from '../openapi/openapi';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { HttpAuthGuard } from '../auth/http-auth.guard';
import { Principal } from '../auth/principal';
import { MessageRouter } from '../router/message-router.service';
import { SessionService } from '../session/session.service';
import { decodeCursor, encodeCursor } from './session-cursor';
import { SessionViewDto } from '../openapi/schemas/session-view.dto';
import { TranscriptPageDto } from '../openapi/schemas/transcript-page.dto';
import { SessionsQueryDto } from './dto/list-sessions.query.dto';
import { MessagesPageQueryDto } from './dto/messages-page.query.dto';
import { SessionDetailResponseDto } from './dto/session-detail.response.dto';
import { SessionsPageResponseDto } from './dto/sessions-page.response.dto';

/** The signed-in user's own sessions. Another user's session is indistinguishable from none (404). */
@ApiTags('sessions')
@ApiBearerAuth(USER_AUTH)
@ApiErrors('unauthorized', 'token_expired', 'rate_limited')
@Controller('sessions')
@UseGuards(HttpAuthGuard)
export class SessionsController {
  constructor(
    private readonly sessions: SessionService,
    private readonly router: MessageRouter,
  ) {}

  @ApiOperation({ summary: "The user's sessions, the most recently active first" })
  @ApiOkResponse({
    type: SessionsPageResponseDto,
    description: '`{ sessions, nextCursor }`; `nextCursor` is null on the last page.',
  })
  @ApiErrors('invalid_payload')
  // The chat pages answer at the same address for browsers (src/web): caches must tell the two apart.
  @Header('Vary', 'Accept')
  @Get()
  async list(@CurrentPrincipal() principal: Principal, @Query() query: SessionsQueryDto) {
    const page = await this.sessions.list(
      principal,
      query.limit,
      query.cursor ? decodeCursor(query.cursor) : undefined,
    );
    return { sessions: page.sessions, nextCursor: page.next ? encodeCursor(page.next) : null };
  }

  /** The session, its newest page of messages (`hasMore`: older ones exist) and the reply in flight. */
  @ApiOperation({ summary: 'The session, its newest page of messages and the reply in flight' })
  @ApiOkResponse({
    type: SessionDetailResponseDto,
    description: '`{ session, messages, hasMore, inFlight }`: `hasMore` when older messages exist',
  })
  @ApiErrors('invalid_payload', 'not_found')
  @Get(':id')
  get(@CurrentPrincipal() principal: Principal, @Param('id', ParseUUIDPipe) id: string) {
    return this.router.resume(principal, id);
  }

  /** Pages backwards through the transcript: the newest `limit` messages before `beforeSeq`, in seq order. */
  @ApiOperation({ summary: 'A page of the transcript, read backwards' })
  @ApiOkResponse({ type: TranscriptPageDto, description: '`{ messages, hasMore }`, in seq order' })
  @ApiErrors('invalid_payload', 'not_found')
  @Get(':id/messages')
  async messages(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: MessagesPageQueryDto,
  ) {
    await this.sessions.getOwned(principal, id);
    return this.sessions.transcript(id, { beforeSeq: query.beforeSeq, limit: query.limit });
  }

  @ApiOperation({ summary: 'Ends the session (idempotent)' })
  @ApiOkResponse({ type: SessionViewDto, description: 'The session as it is now' })
  @ApiErrors('invalid_payload', 'not_found')
  @Post(':id/end')
  @HttpCode(200)
  end(@CurrentPrincipal() principal: Principal, @Param('id', ParseUUIDPipe) id: string) {
    return this.router.endSession(principal, id);
  }
}
