import {
  Header,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { SkipThrottle, ThrottlerGuard } from '@nestjs/throttler';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { USER_AUTH } from '../openapi/openapi';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { HttpAuthGuard } from '../auth/http-auth.guard';
import { Principal } from '../auth/principal';
import { EVENTS_THROTTLER } from '../coordination/coordination.module';
import { ShareService } from '../session/share.service';
import { CreateShareDto } from './dto/create-share.dto';
import { MessagesPageQueryDto } from './dto/messages-page.query.dto';
import { CreatedShareResponseDto, ShareResponseDto } from './dto/share.response.dto';
import { SharedSessionResponseDto } from './dto/shared-session.response.dto';

@ApiTags('shares')
@ApiBearerAuth(USER_AUTH)
@ApiErrors('invalid_payload', 'unauthorized', 'token_expired', 'not_found', 'rate_limited')
@Controller('sessions/:id/shares')
@UseGuards(HttpAuthGuard)
export class SharesController {
  constructor(private readonly shares: ShareService) {}

  @ApiOperation({ summary: 'Makes a read-only link to the conversation' })
  @ApiCreatedResponse({ type: CreatedShareResponseDto, description: 'The share, with its token (shown only here)' })
  @Post()
  create(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: CreateShareDto,
  ) {
    return this.shares.create(principal, id, body.expiresInSeconds);
  }

  @ApiOperation({ summary: "The session's links" })
  @ApiOkResponse({
    type: [ShareResponseDto],
    description: 'The newest 100 shares at most, revoked and expired ones included',
  })
  @Get()
  list(@CurrentPrincipal() principal: Principal, @Param('id', ParseUUIDPipe) id: string) {
    return this.shares.list(principal, id);
  }

  @ApiOperation({ summary: 'Revokes a link' })
  @ApiNoContentResponse({ description: 'Revoked (or already gone)' })
  @Delete(':shareId')
  @HttpCode(204)
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('shareId', ParseUUIDPipe) shareId: string,
  ) {
    return this.shares.revoke(principal, id, shareId);
  }
}

/** The public read-only view: no token needed, so it is rate-limited per client address. */
@ApiTags('shares')
@ApiErrors('not_found', 'rate_limited')
@Controller('shared')
@UseGuards(ThrottlerGuard)
@SkipThrottle({ [EVENTS_THROTTLER]: true })
export class SharedViewController {
  constructor(private readonly shares: ShareService) {}

  /** The newest page of the conversation (`hasMore`: older ones exist; page back with `beforeSeq`). */
  @ApiOperation({ summary: 'The read-only view of a shared conversation; no token needed' })
  @ApiOkResponse({
    type: SharedSessionResponseDto,
    description: 'The newest page of the conversation (`hasMore`: older pages exist)',
  })
  @ApiErrors('invalid_payload')
  // The chat pages answer at the same address for browsers (src/web): caches must tell the two apart.
  @Header('Vary', 'Accept')
  @Get(':token')
  view(@Param('token') token: string, @Query() query: MessagesPageQueryDto) {
    return this.shares.view(token, { beforeSeq: query.beforeSeq, limit: query.limit });
  }
}
