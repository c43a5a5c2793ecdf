import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3Config } from '../../config/app-config';
import { contentDisposition } from './content-disposition';
import { DownloadOptions, ObjectStorage } from './object-storage';

/** A private S3-compatible bucket; downloads are presigned GETs that set the type and disposition. */
export class S3ObjectStorage extends ObjectStorage {
  private readonly client: S3Client;

  constructor(private readonly config: S3Config) {
    super();
    this.client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      credentials: config.credentials,
      forcePathStyle: config.forcePathStyle,
      // The checksum is sent whole (ChecksumSHA256, the hash recorded for the file) rather than as a
      // trailer of an aws-chunked body, which S3-compatible servers do not all read.
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
  }

  async put(key: string, stagedPath: string, meta: { type: string; size: number; sha256: string }): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.config.bucket,
        Key: key,
        Body: createReadStream(stagedPath),
        ContentLength: meta.size,
        ContentType: meta.type,
        ChecksumSHA256: Buffer.from(meta.sha256, 'hex').toString('base64'),
      }),
    );
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: key }));
  }

  async read(key: string): Promise<Readable> {
    const { Body } = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: key }));
    // In Node the SDK's body is a stream.Readable.
    if (!(Body instanceof Readable)) throw new Error(`no body for object ${key}`);
    return Body;
  }

  downloadUrl(key: string, options: DownloadOptions): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.config.bucket,
      Key: key,
      ResponseContentType: options.type,
      ResponseContentDisposition: contentDisposition(options.name, options.inline),
    });
    return getSignedUrl(this.client, command, { expiresIn: options.ttlS });
  }

  close(): void {
    this.client.destroy();
  }
}
