import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';
import { AuditRecordDoc, AuditRecordSchema } from './schemas/audit-record.schema';

@Module({
  imports: [MongooseModule.forFeature([{ name: AuditRecordDoc.name, schema: AuditRecordSchema }])],
  providers: [AuditService, AuditRepository],
  exports: [AuditService],
})
export class AuditModule {}
