import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** A real S3-compatible server (s3rver) on a random loopback port, over a temporary directory. */
export class S3Server {
  readonly bucket = 'chatbox-files';
  private readonly directory = mkdtempSync(path.join(os.tmpdir(), 's3rver-'));
  private server?: S3rver;
  private client?: S3Client;
  endpoint = '';

  async start(): Promise<void> {
    this.server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: this.directory,
      configureBuckets: [{ name: this.bucket }],
    });
    const { port } = await this.server.run();
    this.endpoint = `http://127.0.0.1:${port}`;
    this.client = new S3Client({
      endpoint: this.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      forcePathStyle: true,
    });
  }

  /** The settings that point Chatbox at this server. */
  env(): Record<string, string> {
    return {
      STORAGE_DRIVER: 's3',
      S3_ENDPOINT: this.endpoint,
      S3_REGION: 'us-east-1',
      S3_BUCKET: this.bucket,
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    };
  }

  /** How many objects the bucket holds. */
  async objectCount(): Promise<number> {
    const listed = await this.client!.send(new ListObjectsV2Command({ Bucket: this.bucket }));
    return listed.KeyCount ?? 0;
  }

  async exists(key: string): Promise<boolean> {
    return this.client!.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })).then(
      () => true,
      () => false,
    );
  }

  async stop(): Promise<void> {
    this.client?.destroy();
    await this.server?.close();
    rmSync(this.directory, { recursive: true, force: true });
  }
}
