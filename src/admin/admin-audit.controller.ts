import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditService } from '../audit/audit.service';
import { AdminAuthGuard } from '../auth/admin-auth.guard';
import { AppError } from '../common/errors/app-error';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { ADMIN_AUTH } from '../openapi/openapi';
import { AuditQueryDto } from './dto/audit-query.dto';

/**
 * A date-time the DTO's pattern let through, read as a date, or `invalid_payload` naming `name` when no
 * calendar has it (2026-02-30, 25:00): JavaScript would roll those over into another day.
 */
function dateTime(name: string, value: string): Date {
  const [year, month, day, hour, minute, second] = (
    /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?/.exec(value) ?? []
  )
    .slice(1)
    .map((part) => Number(part ?? 0));
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    throw new AppError('invalid_payload', `${name} is not a date on the calendar`);
  }
  return new Date(value);
}

/** The audit log, for administrators. */
@ApiTags('admin')
@ApiBearerAuth(ADMIN_AUTH)
@ApiErrors('invalid_payload', 'unauthorized', 'token_expired', 'forbidden')
@Controller('admin/audit')
@UseGuards(AdminAuthGuard)
export class AdminAuditController {
  constructor(private readonly audit: AuditService) {}

  @ApiOperation({ summary: 'The audit log, newest first, filtered by session, actor and time' })
  @ApiOkResponse({
    description: '`{ records, nextBefore }`; pass `nextBefore` as `before` for the next page (null: last)',
  })
  @Get()
  list(@Query() query: AuditQueryDto) {
    const from = query.from === undefined ? undefined : dateTime('from', query.from);
    const to = query.to === undefined ? undefined : dateTime('to', query.to);
    if (from && to && from.getTime() >= to.getTime()) throw new AppError('invalid_payload', 'from must be before to');
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
