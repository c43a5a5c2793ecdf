import { hkdfSync } from 'node:crypto';
import * as path from 'node:path';
import { Module, OnApplicationShutdown } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AuthModule } from '../auth/auth.module';
import { AppConfig } from '../config/app-config';
import { SessionModule } from '../session/session.module';
import { DownloadController } from './download.controller';
import { FileRepository } from './file.repository';
import { FileDoc, FileSchema } from './schemas/file.schema';
import { LocalDiskObjectStorage } from './storage/local-disk-object-storage';
import { ObjectStorage } from './storage/object-storage';
import { S3ObjectStorage } from './storage/s3-object-storage';
import { UploadController } from './upload.controller';
import { UploadSweeper } from './upload-sweeper.service';
import { UploadService } from './upload.service';

/** The storage driver STORAGE_DRIVER names. */
export function objectStorageFor(config: AppConfig): ObjectStorage {
  const { upload, encryption, http } = config;
  if (upload.driver === 's3' && upload.s3) return new S3ObjectStorage(upload.s3);
  // Download URLs are signed with a key of their own, derived from the active encryption key every replica shares.
  const active = encryption.keys.get(encryption.activeKeyId) as Buffer;
  const signingKey = Buffer.from(hkdfSync('sha256', active, Buffer.alloc(0), 'chatbox download urls', 32));
  return new LocalDiskObjectStorage(path.join(upload.dir, 'objects'), http.pathPrefix, signingKey);
}

@Module({
  imports: [AuthModule, SessionModule, MongooseModule.forFeature([{ name: FileDoc.name, schema: FileSchema }])],
  controllers: [UploadController, DownloadController],
  providers: [
    UploadService,
    UploadSweeper,
    FileRepository,
    { provide: ObjectStorage, useFactory: objectStorageFor, inject: [AppConfig] },
  ],
  exports: [UploadService],
})
export class UploadModule implements OnApplicationShutdown {
  constructor(private readonly storage: ObjectStorage) {}

  onApplicationShutdown(): void {
    if (this.storage instanceof S3ObjectStorage) this.storage.close();
  }
}
