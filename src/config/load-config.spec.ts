import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { persistedDevSecrets } from './dev-secrets';
import { ConfigError, decodeKey, loadConfig } from './load-config';

const strong = () => randomBytes(32).toString('base64');
const production = (overrides: Record<string, string> = {}) => ({
  NODE_ENV: 'production',
  MONGODB_URI: 'mongodb://db.internal:27017/chatbox',
  JWT_SECRET: strong(),
  ENCRYPTION_KEY: strong(),
  METRICS_TOKEN: strong(),
  ...overrides,
});

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies documented defaults in development and generates missing secrets', () => {
    const config = loadConfig({});
    expect(config.env).toBe('development');
    expect(config.http).toEqual({
      host: '127.0.0.1',
      port: 3000,
      pathPrefix: '/chatbox',
      bodyLimitBytes: 1048576,
      trustedProxies: [],
      corsOrigins: true,
      allowedParentOrigins: [],
      linkAllowedHosts: [],
      framedBySelf: true,
      publicRateLimitPerMinute: 60,
      adminRateLimitPerMinute: 300,
      openApiUi: true,
    });
    expect(config.mongo.uri).toBeUndefined();
    expect(config.mongo.embedded).toEqual({ backend: 'auto', postgresUrl: undefined });
    expect(config.shutdown).toEqual({ timeoutMs: 25000, drainDelayMs: 0 });
    expect(Buffer.byteLength(config.auth.jwtSecret)).toBeGreaterThanOrEqual(32);
    expect(config.encryption.keys.get(config.encryption.activeKeyId)).toHaveLength(32);
    expect(config.metrics.token).toEqual(expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/));
  });

  it('takes ADMIN_HEAVY_READS_MAX, 2 by default, and refuses one below 1, naming it', () => {
    expect(loadConfig({}).usage).toEqual({ sampleMs: 60000, maxRangeDays: 92, heavyReadsMax: 2 });
    expect(loadConfig({ ADMIN_HEAVY_READS_MAX: '5' }).usage.heavyReadsMax).toBe(5);
    expect(problemsOf({ ADMIN_HEAVY_READS_MAX: '0' })).toEqual([expect.stringContaining('ADMIN_HEAVY_READS_MAX')]);
  });

  it('stops at boot on a malformed ADMIN_EMAILS, naming it, and on an escalation over channels not configured', () => {
    const email = { SMTP_URL: 'smtp://mail.internal:25', MAIL_FROM: 'chatbox@example.test' };
    expect(problemsOf(production({ ...email, ADMIN_EMAILS: 'ann@example.test,not-an-address' }))).toEqual([
      expect.stringContaining('ADMIN_EMAILS'),
    ]);
    expect(
      problemsOf(production({ ...email, ADMIN_EMAILS: 'ann@example.test', HELP_ESCALATION: 'email,sms,pager' })),
    ).toEqual([
      'HELP_ESCALATION names unknown channels (pager); use log, email, sms, webhook',
      'HELP_ESCALATION names channels that are not configured (sms)',
    ]);
    const config = loadConfig(production({ ...email, ADMIN_EMAILS: 'ann@example.test', HELP_ESCALATION: 'email' }));
    expect(config.notify).toMatchObject({ escalation: ['email'], channels: { channels: ['email'] } });
  });

  it('starts in production with strong random secrets and production defaults', () => {
    const config = loadConfig(production());
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.http.corsOrigins).toEqual([]);
    expect(config.shutdown.drainDelayMs).toBe(5000);
  });

  it('serves the OpenAPI UI outside production, and in production only with OPENAPI_UI=true', () => {
    expect(loadConfig({}).http.openApiUi).toBe(true);
    expect(loadConfig({ OPENAPI_UI: 'false' }).http.openApiUi).toBe(false);
    expect(loadConfig(production()).http.openApiUi).toBe(false);
    expect(loadConfig(production({ OPENAPI_UI: 'true' })).http.openApiUi).toBe(true);
    expect(problemsOf({ OPENAPI_UI: 'yes' })).toEqual([expect.stringContaining('OPENAPI_UI')]);
  });

  it('refuses a placeholder JWT secret in production, naming JWT_SECRET', () => {
    const problems = problemsOf(production({ JWT_SECRET: 'changeme-please-use-a-real-secret-123' }));
    expect(problems).toEqual([expect.stringMatching(/^JWT_SECRET contains the placeholder marker "CHANGEME"/)]);
  });

  it('reports every missing production secret and the missing database at once', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems).toEqual([
      expect.stringMatching(/^JWT_SECRET is required in production/),
      expect.stringMatching(/^ENCRYPTION_KEY \(or ENCRYPTION_KEYS\) is required in production/),
      expect.stringMatching(/^METRICS_TOKEN is required in production/),
      expect.stringMatching(/^MONGODB_URI is required in production/),
    ]);
  });

  it('refuses a weak encryption key and a human-chosen metrics token in production', () => {
    const problems = problemsOf(
      production({
        ENCRYPTION_KEY: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
        METRICS_TOKEN: 'my-super-secret-metrics-token-for-prometheus',
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^ENCRYPTION_KEY looks human-chosen/),
      expect.stringMatching(/^METRICS_TOKEN looks human-chosen/),
    ]);
  });

  it('lets METRICS_PORT replace the metrics token in production', () => {
    const env = production({ METRICS_PORT: '9464' });
    delete (env as Partial<typeof env>).METRICS_TOKEN;
    expect(loadConfig(env).metrics).toEqual({ token: undefined, port: 9464, refreshMs: 15000 });
  });

  it('keeps sessions forever unless RETENTION_DAYS is set', () => {
    expect(loadConfig(production({})).retention).toEqual({ days: undefined, sweepIntervalMs: 3600000 });
    expect(loadConfig(production({ RETENTION_DAYS: '30' })).retention).toEqual({ days: 30, sweepIntervalMs: 3600000 });
  });

  it.each([
    [{ PORT: 'eighty' }, /^PORT must be an integer number/],
    [{ RETENTION_DAYS: '0' }, /^RETENTION_DAYS must not be less than 1/],
    [{ PORT: '70000' }, /^PORT must not be greater than 65535/],
    [{ CHATBOX_PATH_PREFIX: 'chatbox/' }, /^CHATBOX_PATH_PREFIX must start with "\/"/],
    [{ MONGODB_URI: 'postgres://x' }, /^MONGODB_URI must be a mongodb:\/\//],
    [{ REDIS_URL: 'http://x' }, /^REDIS_URL must be a redis:\/\//],
    [{ EMBEDDED_MONGO_BACKEND: 'mysql' }, /^EMBEDDED_MONGO_BACKEND must be one of the following values/],
    [{ EMBEDDED_POSTGRES_URL: 'mongodb://x' }, /^EMBEDDED_POSTGRES_URL must be a postgres:\/\//],
    [
      { EMBEDDED_MONGO_BACKEND: 'sqlite', EMBEDDED_POSTGRES_URL: 'postgres://127.0.0.1/chatbox' },
      /^EMBEDDED_POSTGRES_URL is set but EMBEDDED_MONGO_BACKEND is sqlite/,
    ],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of the following values/],
    [{ TRUSTED_PROXIES: '10.0.0.0/8, 10.0.0.0/33' }, /^TRUSTED_PROXIES entry "10.0.0.0\/33" is not an IP address/],
    [{ TRUSTED_PROXIES: 'proxy.local' }, /^TRUSTED_PROXIES entry "proxy.local"/],
    [{ CORS_ORIGINS: 'https://ok.example, javascript:alert(1)' }, /^CORS_ORIGINS entry "javascript:alert\(1\)"/],
    [{ ALLOWED_PARENT_ORIGINS: 'https://app.example/path' }, /^ALLOWED_PARENT_ORIGINS entry/],
    [{ LINK_ALLOWED_HOSTS: 'docs.example.com, https://x.example' }, /^LINK_ALLOWED_HOSTS entry "https:\/\/x.example"/],
    [{ LINK_ALLOWED_HOSTS: '*' }, /^LINK_ALLOWED_HOSTS entry "\*" must be a host name/],
    [{ SHUTDOWN_DRAIN_DELAY_MS: '30000' }, /^SHUTDOWN_DRAIN_DELAY_MS must be shorter than SHUTDOWN_TIMEOUT_MS/],
    [{ METRICS_PORT: '3000' }, /^METRICS_PORT must differ from PORT/],
    [{ ENCRYPTION_KEY: 'short' }, /^ENCRYPTION_KEY must be 32 bytes/],
    [
      { ENCRYPTION_KEY: strong(), ENCRYPTION_KEYS: `k2:${strong()}` },
      /^ENCRYPTION_KEY and ENCRYPTION_KEYS are both set/,
    ],
    [{ ENCRYPTION_KEYS: `bad id:${strong()}` }, /^ENCRYPTION_KEYS entry 1 must look like "<id>:<key>"/],
    [{ ENCRYPTION_KEYS: `k1:${strong()},k1:${strong()}` }, /^ENCRYPTION_KEYS entry 2 repeats the key id "k1"/],
  ])('stops on %p with a message naming the variable and the rule', (env, message) => {
    expect(problemsOf(env as Record<string, string>)).toEqual([expect.stringMatching(message)]);
  });

  it('warns of datastores reached without credentials, and refuses them with REQUIRE_DATASTORE_AUTH=true', () => {
    const unsafe = { MONGODB_URI: 'mongodb://db.internal/chatbox', REDIS_URL: 'redis://redis.internal:6379' };
    expect(loadConfig(unsafe).warnings).toEqual([
      'MONGODB_URI has no credentials (user:password@host)',
      'MONGODB_URI does not use TLS with certificate checks (add tls=true, or use mongodb+srv://)',
      'REDIS_URL has no password (redis://:password@host)',
    ]);
    expect(problemsOf({ ...unsafe, REQUIRE_DATASTORE_AUTH: 'true' })).toEqual([
      'MONGODB_URI has no credentials (user:password@host), which REQUIRE_DATASTORE_AUTH=true refuses',
      'MONGODB_URI does not use TLS with certificate checks (add tls=true, or use mongodb+srv://), which REQUIRE_DATASTORE_AUTH=true refuses',
      'REDIS_URL has no password (redis://:password@host), which REQUIRE_DATASTORE_AUTH=true refuses',
    ]);
    const safe = {
      MONGODB_URI: 'mongodb://chatbox:pw@db.internal/chatbox?tls=true',
      REDIS_URL: 'redis://:pw@redis.internal:6379',
      REQUIRE_DATASTORE_AUTH: 'true',
    };
    expect(loadConfig(safe).warnings).toEqual([]);
  });

  it('refuses "*" as a CORS origin in production only', () => {
    expect(problemsOf(production({ CORS_ORIGINS: '*' }))).toEqual([
      expect.stringMatching(/^CORS_ORIGINS may not be "\*"/),
    ]);
    expect(loadConfig({ CORS_ORIGINS: '*' }).http.corsOrigins).toBe(true);
  });

  it('parses proxies, origins and a key ring whose first key is active', () => {
    const [k1, k2] = [randomBytes(32), randomBytes(32)];
    const config = loadConfig({
      TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1, ::1/128, loopback',
      CORS_ORIGINS: 'https://a.example, http://localhost:5173',
      ENCRYPTION_KEYS: `k2:${k2.toString('base64')},k1:${k1.toString('hex')}`,
      CHATBOX_PATH_PREFIX: '/support/chat',
      LINK_ALLOWED_HOSTS: 'Docs.Example.com, *.help.example',
    });
    expect(config.http.linkAllowedHosts).toEqual(['docs.example.com', '*.help.example']);
    expect(config.http.trustedProxies).toEqual(['10.0.0.0/8', '127.0.0.1', '::1/128', 'loopback']);
    expect(config.http.corsOrigins).toEqual(['https://a.example', 'http://localhost:5173']);
    expect(config.http.pathPrefix).toBe('/support/chat');
    expect(config.encryption.activeKeyId).toBe('k2');
    expect(config.encryption.keys).toEqual(
      new Map([
        ['k2', k2],
        ['k1', k1],
      ]),
    );
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', MONGODB_URI: '' }).http.port).toBe(3000);
  });

  it('keeps the rest of the config when swapping in the embedded database URI', () => {
    const config = loadConfig({});
    const withUri = config.withMongoUri('mongodb://127.0.0.1:4000/chatbox');
    expect(withUri.mongo).toEqual({
      uri: 'mongodb://127.0.0.1:4000/chatbox',
      readinessTimeoutMs: 1000,
      embedded: { backend: 'auto', postgresUrl: undefined },
    });
    expect(withUri.auth).toBe(config.auth);
  });
});

describe('decodeKey', () => {
  it('reads base64, base64url, hex and the Go service raw 32-character form as 32 bytes', () => {
    const bytes = randomBytes(32);
    expect(decodeKey(bytes.toString('base64'))).toEqual(bytes);
    expect(decodeKey(bytes.toString('base64url'))).toEqual(bytes);
    expect(decodeKey(bytes.toString('hex'))).toEqual(bytes);
    expect(decodeKey('0123456789abcdefghijklmnopqrstuv')).toEqual(Buffer.from('0123456789abcdefghijklmnopqrstuv'));
    expect(decodeKey('too short')).toBeUndefined();
  });
});

describe('persistedDevSecrets', () => {
  it('generates development secrets once and returns the same ones after a restart, owner-readable only', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chatbox-dev-secrets-'));
    const first = loadConfig({ DATA_DIR: dataDir }, (dir) => persistedDevSecrets(dir));
    const second = loadConfig({ DATA_DIR: dataDir }, (dir) => persistedDevSecrets(dir));
    expect(second.auth.jwtSecret).toBe(first.auth.jwtSecret);
    expect(second.encryption.keys).toEqual(first.encryption.keys);
    const file = path.join(dataDir, 'dev-secrets.json');
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')) as object).sort()).toEqual([
      'ENCRYPTION_KEY',
      'JWT_SECRET',
      'METRICS_TOKEN',
    ]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('loadConfig: files', () => {
  it('stores files on disk under DATA_DIR by default, with the documented limits', () => {
    const config = loadConfig({ DATA_DIR: '/var/lib/chatbox' });
    expect(config.upload).toEqual({
      maxBytes: 10485760,
      quotaBytes: 104857600,
      ratePerMinute: 20,
      driver: 'disk',
      s3: undefined,
      downloadUrlTtlS: 300,
      dir: '/var/lib/chatbox/files',
    });
  });

  it('takes the S3 settings with STORAGE_DRIVER=s3', () => {
    const config = loadConfig({
      STORAGE_DRIVER: 's3',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_REGION: 'eu-west-3',
      S3_BUCKET: 'chatbox-files',
      S3_ACCESS_KEY_ID: 'id',
      S3_SECRET_ACCESS_KEY: 'secret',
      S3_FORCE_PATH_STYLE: 'true',
    });
    expect(config.upload.s3).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-3',
      bucket: 'chatbox-files',
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
      forcePathStyle: true,
    });
    expect(loadConfig({ STORAGE_DRIVER: 's3', S3_REGION: 'r', S3_BUCKET: 'b' }).upload.s3?.credentials).toBeUndefined();
  });

  it('refuses STORAGE_DRIVER=s3 without a bucket or region, or with one key of two, naming each', () => {
    expect(problemsOf({ STORAGE_DRIVER: 's3', S3_ACCESS_KEY_ID: 'id' })).toEqual([
      'S3_BUCKET is required with STORAGE_DRIVER=s3',
      'S3_REGION is required with STORAGE_DRIVER=s3',
      'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both or neither',
    ]);
    expect(problemsOf({ STORAGE_DRIVER: 'ftp' })).toEqual([expect.stringContaining('STORAGE_DRIVER')]);
  });
});
