import { Controller, Get, Param, Query, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { UserIdParamDto } from '../admin/admin-users.controller';
import { AdminAuthGuard } from '../auth/admin-auth.guard';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { ADMIN_AUTH } from '../openapi/openapi';
import { UsageQueryDto } from './dto/usage-query.dto';
import { toUserUsageResponse, UserUsageResponseDto } from './dto/usage.response.dto';
import { HeavyReadInterceptor } from './heavy-read.interceptor';
import { UsageService } from './usage.service';

/** One user's usage over a time range, for administrators. */
@ApiTags('admin')
@ApiBearerAuth(ADMIN_AUTH)
@ApiErrors('invalid_payload', 'unauthorized', 'token_expired', 'forbidden', 'rate_limited', 'too_many_requests')
@Controller('admin/users')
@UseGuards(AdminAuthGuard)
@UseInterceptors(HeavyReadInterceptor)
export class AdminUserUsageController {
  constructor(private readonly usage: UsageService) {}

  @ApiOperation({
    summary: "A user's sessions started, messages, and tokens and cost by model, in [from, to)",
    description: 'The range is at most ADMIN_METRICS_MAX_RANGE_DAYS long.',
  })
  @ApiOkResponse({ type: UserUsageResponseDto, description: "The user's figures over the range" })
  @Get(':userId/usage')
  async ofUser(@Param() { userId }: UserIdParamDto, @Query() query: UsageQueryDto): Promise<UserUsageResponseDto> {
    return toUserUsageResponse(await this.usage.ofUser(userId, query));
  }
}
