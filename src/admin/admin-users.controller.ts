import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';
import { AdminAuthGuard } from '../auth/admin-auth.guard';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { ADMIN_AUTH } from '../openapi/openapi';
import { SessionService } from '../session/session.service';
import { SessionsQueryDto } from '../user-api/dto/list-sessions.query.dto';
import { decodeCursor, encodeCursor } from '../user-api/session-cursor';
import { AdminSessionsPageResponseDto } from './dto/admin-sessions-page.response.dto';

export class UserIdParamDto {
  @ApiProperty({ maxLength: 128, description: "The user's id, as the host application's token names it (`sub`)" })
  @IsString()
  @MaxLength(128)
  @Matches(/^\S+$/, { message: 'userId must not be blank or hold spaces' })
  userId!: string;
}

/** Any user's sessions, for administrators. */
@ApiTags('admin')
@ApiBearerAuth(ADMIN_AUTH)
@ApiErrors('invalid_payload', 'unauthorized', 'token_expired', 'forbidden', 'rate_limited')
@Controller('admin/users')
@UseGuards(AdminAuthGuard)
export class AdminUsersController {
  constructor(private readonly sessions: SessionService) {}

  @ApiOperation({ summary: "A user's sessions, the most recently active first" })
  @ApiOkResponse({
    type: AdminSessionsPageResponseDto,
    description: '`{ sessions, nextCursor }` (sessions as the admin queue shows them); null on the last page',
  })
  @Get(':userId/sessions')
  async sessionsOf(@Param() { userId }: UserIdParamDto, @Query() query: SessionsQueryDto) {
    const page = await this.sessions.listOfUser(
      userId,
      query.limit,
      query.cursor ? decodeCursor(query.cursor) : undefined,
    );
    return { sessions: page.sessions, nextCursor: page.next ? encodeCursor(page.next) : null };
  }
}
