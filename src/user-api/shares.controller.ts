import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, UseGuards } from '@nestjs/common';
import { SkipThrottle, ThrottlerGuard } from '@nestjs/throttler';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { HttpAuthGuard } from '../auth/http-auth.guard';
import { Principal } from '../auth/principal';
import { EVENTS_THROTTLER } from '../coordination/coordination.module';
import { ShareService } from '../session/share.service';
import { CreateShareDto } from './dto/create-share.dto';
import { MessagesPageQueryDto } from './dto/messages-page.query.dto';

@Controller('sessions/:id/shares')
@UseGuards(HttpAuthGuard)
export class SharesController {
  constructor(private readonly shares: ShareService) {}

  @Post()
  create(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: CreateShareDto,
  ) {
    return this.shares.create(principal, id, body.expiresInSeconds);
  }

  @Get()
  list(@CurrentPrincipal() principal: Principal, @Param('id', ParseUUIDPipe) id: string) {
    return this.shares.list(principal, id);
  }

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
@Controller('shared')
@UseGuards(ThrottlerGuard)
@SkipThrottle({ [EVENTS_THROTTLER]: true })
export class SharedViewController {
  constructor(private readonly shares: ShareService) {}

  /** The newest page of the conversation (`hasMore`: older ones exist; page back with `beforeSeq`). */
  @Get(':token')
  view(@Param('token') token: string, @Query() query: MessagesPageQueryDto) {
    return this.shares.view(token, { beforeSeq: query.beforeSeq, limit: query.limit });
  }
}
