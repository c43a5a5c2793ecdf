import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditService } from '../audit/audit.service';
import { AdminAuthGuard } from '../auth/admin-auth.guard';
import { parseRange } from '../common/validation/date-time';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { ADMIN_AUTH } from '../openapi/openapi';
import { AuditPageResponseDto } from './dto/audit-page.response.dto';
import { AuditQueryDto } from './dto/audit-query.dto';

/** The audit log, for administrators. */
@ApiTags('admin')
@ApiBearerAuth(ADMIN_AUTH)
@ApiErrors('invalid_payload', 'unauthorized', 'token_expired', 'forbidden', 'rate_limited')
@Controller('admin/audit')
@UseGuards(AdminAuthGuard)
export class AdminAuditController {
  constructor(private readonly audit: AuditService) {}

  @ApiOperation({ summary: 'The audit log, newest first, filtered by session, actor and time' })
  @ApiOkResponse({
    type: AuditPageResponseDto,
    description: '`{ records, nextBefore }`; pass `nextBefore` as `before` for the next page (null: last)',
  })
  @Get()
  list(@Query() query: AuditQueryDto) {
    const { from, to } = parseRange(query.from, query.to);
    return this.audit.page({
      sessionId: query.sessionId,
      actor: query.actor,
      from,
      to,
      before: query.before,
      limit: query.limit,
    });
  }
}
