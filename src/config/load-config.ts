import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import * as path from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { CHANNEL_KINDS, type ChannelKind } from '../notification/notification-channel';
import { parseNotificationConfig } from '../notification/notification-config';
import { AppConfig, EncryptionConfig, NodeEnv, S3Config } from './app-config';
import { datastoreAuthProblems } from './datastore-auth';
import { EnvVars } from './env.schema';
import { parseModels } from './llm-models';
import { checkSecretStrength, describeSecretProblem } from './secret-strength';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Secrets a non-production run generates when they are not given. */
export type GeneratedSecret = 'JWT_SECRET' | 'ENCRYPTION_KEY' | 'METRICS_TOKEN';
export type SecretGenerator = (name: GeneratedSecret) => string;

export const randomSecret: SecretGenerator = () => randomBytes(32).toString('base64');

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;
/** A host name, or `*.` and a domain for its subdomains. */
const LINK_HOST = /^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+$/;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function isProxyEntry(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [address, bits, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n >= 0 && n <= (family === 4 ? 32 : 128);
}

/** A 32-byte AES key: base64 of 32 bytes, 64 hex digits, or a 32-byte string (the Go service's format). */
export function decodeKey(value: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) {
    const bytes = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length === 32) return bytes;
  }
  const raw = Buffer.from(value, 'utf8');
  return raw.length === 32 ? raw : undefined;
}

function parseEncryptionKeys(env: EnvVars, problems: string[], generate: () => string): EncryptionConfig {
  if (env.ENCRYPTION_KEY && env.ENCRYPTION_KEYS) {
    problems.push('ENCRYPTION_KEY and ENCRYPTION_KEYS are both set; set only one');
  }
  if (env.NODE_ENV === 'production' && !env.ENCRYPTION_KEY && !env.ENCRYPTION_KEYS) {
    problems.push(describeSecretProblem('ENCRYPTION_KEY (or ENCRYPTION_KEYS)', { kind: 'missing' }));
    return { activeKeyId: 'k1', keys: new Map() };
  }
  const entries: [string, string, string][] = env.ENCRYPTION_KEYS
    ? list(env.ENCRYPTION_KEYS).map((entry, i) => {
        const at = entry.indexOf(':');
        return [entry.slice(0, at), entry.slice(at + 1), `ENCRYPTION_KEYS entry ${i + 1}`];
      })
    : [['k1', env.ENCRYPTION_KEY ?? generate(), 'ENCRYPTION_KEY']];
  const keys = new Map<string, Buffer>();
  for (const [id, value, name] of entries) {
    if (!KEY_ID.test(id)) {
      problems.push(`${name} must look like "<id>:<key>" with an id of 1-32 letters, digits, _ or -`);
      continue;
    }
    if (keys.has(id)) problems.push(`${name} repeats the key id "${id}"`);
    const key = decodeKey(value);
    if (!key) {
      problems.push(`${name} must be 32 bytes: base64 of 32 random bytes, 64 hex digits, or a 32-character string`);
      continue;
    }
    if (env.NODE_ENV === 'production') {
      const problem = checkSecretStrength(value, key.length);
      if (problem) problems.push(describeSecretProblem(name, problem));
    }
    keys.set(id, key);
  }
  return { activeKeyId: entries[0]?.[0] ?? 'k1', keys };
}

/**
 * Validates the environment once and maps it onto AppConfig. Every problem is collected and
 * reported together, each naming its variable. Production refuses weak or missing secrets;
 * other environments generate the secrets they are not given.
 */

/** HELP_ESCALATION: channel names, in order, each once. Whether each is configured is checked with the channels. */
function parseEscalation(value: string | undefined, problems: string[]): ChannelKind[] {
  const names = list(value);
  const unknown = names.filter((n) => !CHANNEL_KINDS.includes(n as ChannelKind));
  if (unknown.length > 0) {
    problems.push(`HELP_ESCALATION names unknown channels (${unknown.join(', ')}); use ${CHANNEL_KINDS.join(', ')}`);
  }
  if (new Set(names).size !== names.length) problems.push('HELP_ESCALATION names a channel twice');
  return names.filter((n): n is ChannelKind => CHANNEL_KINDS.includes(n as ChannelKind));
}

/** STORAGE_DRIVER=s3: a bucket and a region, and both keys or neither (the SDK's credential chain then). */
function parseS3(env: EnvVars, problems: string[]): S3Config {
  for (const name of ['S3_BUCKET', 'S3_REGION'] as const) {
    if (!env[name]) problems.push(`${name} is required with STORAGE_DRIVER=s3`);
  }
  if (!env.S3_ACCESS_KEY_ID !== !env.S3_SECRET_ACCESS_KEY) {
    problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both or neither');
  }
  return {
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION ?? '',
    bucket: env.S3_BUCKET ?? '',
    credentials:
      env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY
        ? { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY }
        : undefined,
    forcePathStyle: env.S3_FORCE_PATH_STYLE === 'true',
  };
}

export function loadConfig(
  raw: NodeJS.ProcessEnv,
  secretsFor: (dataDir: string, env: NodeEnv) => SecretGenerator = () => randomSecret,
): AppConfig {
  const present = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''));
  const env = plainToInstance(EnvVars, present, { excludeExtraneousValues: true, exposeDefaultValues: true });
  const problems = validateSync(env, { stopAtFirstError: true }).flatMap((e) =>
    Object.values(e.constraints ?? {}).map((rule) => (rule.startsWith(e.property) ? rule : `${e.property} ${rule}`)),
  );
  if (problems.length > 0) throw new ConfigError(problems);

  const production = env.NODE_ENV === 'production';
  const dataDir = path.resolve(env.DATA_DIR);
  let generator: SecretGenerator | undefined;
  const generate: SecretGenerator = (name) => (generator ??= secretsFor(dataDir, env.NODE_ENV))(name);
  const secret = (name: GeneratedSecret, value: string | undefined): string => {
    if (production) {
      const problem = checkSecretStrength(value);
      if (problem) problems.push(describeSecretProblem(name, problem));
      return value ?? '';
    }
    return value ?? generate(name);
  };

  const asymmetric = env.JWT_ALGORITHM !== 'HS256';
  // With RS256/ES256 the host app signs; the secret only signs development tokens, so production needs none.
  const jwtSecret = asymmetric && production ? '' : secret('JWT_SECRET', env.JWT_SECRET);
  if (asymmetric && !env.JWT_PUBLIC_KEY === !env.JWT_JWKS_URL) {
    problems.push(`JWT_ALGORITHM ${env.JWT_ALGORITHM} needs exactly one of JWT_PUBLIC_KEY and JWT_JWKS_URL`);
  }
  if (
    env.JWT_JWKS_URL?.startsWith('http:') &&
    !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(env.JWT_JWKS_URL)
  ) {
    problems.push('JWT_JWKS_URL must use https (plain http only for loopback)');
  }
  const encryption = parseEncryptionKeys(env, problems, () => generate('ENCRYPTION_KEY'));
  const channels = parseNotificationConfig(present, problems);
  const escalation = parseEscalation(env.HELP_ESCALATION, problems);
  const unconfigured = escalation.filter((kind) => !channels.channels.includes(kind));
  if (unconfigured.length > 0) {
    problems.push(`HELP_ESCALATION names channels that are not configured (${unconfigured.join(', ')})`);
  }
  const metricsToken =
    production && env.METRICS_PORT && !env.METRICS_TOKEN ? undefined : secret('METRICS_TOKEN', env.METRICS_TOKEN);
  if (production && !env.MONGODB_URI) {
    problems.push('MONGODB_URI is required in production (the embedded server is for development only)');
  }
  const unsafeDatastores = datastoreAuthProblems(env);
  if (env.REQUIRE_DATASTORE_AUTH === 'true') {
    problems.push(...unsafeDatastores.map((problem) => `${problem}, which REQUIRE_DATASTORE_AUTH=true refuses`));
  }
  if (env.EMBEDDED_POSTGRES_URL && env.EMBEDDED_MONGO_BACKEND === 'sqlite') {
    problems.push('EMBEDDED_POSTGRES_URL is set but EMBEDDED_MONGO_BACKEND is sqlite; unset one of them');
  }
  if (env.METRICS_PORT !== undefined && env.METRICS_PORT === env.PORT) {
    problems.push('METRICS_PORT must differ from PORT');
  }

  const trustedProxies = list(env.TRUSTED_PROXIES);
  for (const entry of trustedProxies.filter((p) => !isProxyEntry(p))) {
    problems.push(
      `TRUSTED_PROXIES entry "${entry}" is not an IP address, a CIDR range or loopback/linklocal/uniquelocal`,
    );
  }
  const corsList = list(env.CORS_ORIGINS);
  const anyOrigin = corsList.includes('*') || (corsList.length === 0 && !production);
  if (production && corsList.includes('*')) {
    problems.push('CORS_ORIGINS may not be "*" in production; list the allowed origins');
  }
  const parents = list(env.ALLOWED_PARENT_ORIGINS);
  const linkHosts = list(env.LINK_ALLOWED_HOSTS).map((host) => host.toLowerCase());
  for (const host of linkHosts.filter((h) => !LINK_HOST.test(h))) {
    problems.push(`LINK_ALLOWED_HOSTS entry "${host}" must be a host name such as docs.example.com or *.example.com`);
  }
  for (const [name, origins] of [
    ['CORS_ORIGINS', corsList.filter((o) => o !== '*')],
    ['ALLOWED_PARENT_ORIGINS', parents],
  ] as const) {
    for (const origin of origins.filter((o) => !ORIGIN.test(o))) {
      problems.push(`${name} entry "${origin}" must be an origin such as https://app.example.com`);
    }
  }
  const { models, defaultModelId, transcriptionModel } = parseModels(raw, problems);
  const s3 = env.STORAGE_DRIVER === 's3' ? parseS3(env, problems) : undefined;
  const drainDelayMs = env.SHUTDOWN_DRAIN_DELAY_MS ?? (production ? 5000 : 0);
  if (drainDelayMs >= env.SHUTDOWN_TIMEOUT_MS) {
    problems.push('SHUTDOWN_DRAIN_DELAY_MS must be shorter than SHUTDOWN_TIMEOUT_MS');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return new AppConfig({
    env: env.NODE_ENV,
    http: {
      host: env.HOST ?? (production ? '0.0.0.0' : '127.0.0.1'),
      port: env.PORT,
      pathPrefix: env.CHATBOX_PATH_PREFIX,
      bodyLimitBytes: env.HTTP_BODY_LIMIT_BYTES,
      trustedProxies,
      corsOrigins: anyOrigin ? true : corsList,
      allowedParentOrigins: parents,
      linkAllowedHosts: linkHosts,
      framedBySelf: env.NODE_ENV === 'development',
      publicRateLimitPerMinute: env.PUBLIC_RATE_LIMIT_PER_MINUTE,
      adminRateLimitPerMinute: env.ADMIN_RATE_LIMIT_PER_MINUTE,
      openApiUi: env.OPENAPI_UI ? env.OPENAPI_UI === 'true' : !production,
    },
    mongo: {
      uri: env.MONGODB_URI,
      readinessTimeoutMs: env.READINESS_CHECK_TIMEOUT_MS,
      embedded: { backend: env.EMBEDDED_MONGO_BACKEND, postgresUrl: env.EMBEDDED_POSTGRES_URL },
    },
    redis: { url: env.REDIS_URL },
    warnings: env.REQUIRE_DATASTORE_AUTH === 'true' ? [] : unsafeDatastores,
    auth: {
      jwtSecret,
      algorithm: env.JWT_ALGORITHM,
      publicKey: env.JWT_PUBLIC_KEY?.replace(/\\n/g, '\n'),
      jwksUrl: env.JWT_JWKS_URL,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      clockSkewS: env.JWT_CLOCK_SKEW_S,
      maxLifetimeS: env.JWT_MAX_LIFETIME_S,
      expiryWarningS: env.AUTH_EXPIRY_WARNING_S,
    },
    chat: {
      reconnectWindowMs: env.RECONNECT_WINDOW_MS,
      sweepIntervalMs: env.SESSION_SWEEP_INTERVAL_MS ?? Math.min(60000, Math.max(100, env.RECONNECT_WINDOW_MS / 4)),
      maxMessageChars: env.MESSAGE_MAX_CHARS,
      maxFrameBytes: env.SOCKET_MAX_FRAME_BYTES,
      rateLimit: {
        events: env.RATE_LIMIT_EVENTS,
        typingEvents: env.RATE_LIMIT_TYPING_EVENTS,
        windowMs: env.RATE_LIMIT_WINDOW_MS,
      },
      turnQueueLimit: env.TURN_QUEUE_LIMIT,
      turnLeaseMs: env.TURN_LEASE_MS,
      turnAbandonAfterMs: env.TURN_ABANDON_AFTER_MS,
      demoDeltaIntervalMs: env.DEMO_DELTA_INTERVAL_MS,
      socketsPerUser: env.SOCKETS_PER_USER,
      handshakesPerMinute: env.HANDSHAKE_RATE_LIMIT_PER_MINUTE,
    },
    admin: {
      releaseAfterMs: env.ADMIN_RELEASE_AFTER_MS,
      idleReleaseMs: env.ADMIN_IDLE_RELEASE_MS,
      holdCheckMs: Math.min(30000, Math.max(100, Math.min(env.ADMIN_RELEASE_AFTER_MS, env.ADMIN_IDLE_RELEASE_MS) / 4)),
    },
    notify: {
      channels,
      minIntervalMs: env.NOTIFY_MIN_INTERVAL_MS,
      escalation,
      escalateAfterMs: env.HELP_ESCALATE_AFTER_MS,
      maxAttempts: env.NOTIFY_MAX_ATTEMPTS,
      retryBaseMs: env.NOTIFY_RETRY_BASE_MS,
      retryMaxMs: env.NOTIFY_RETRY_MAX_MS,
      pollMs: env.NOTIFY_POLL_MS,
      claimMs: env.NOTIFY_CLAIM_MS,
      dependencyDown: {
        afterMs: env.DEPENDENCY_DOWN_AFTER_MS,
        checkMs: Math.min(5000, Math.max(250, Math.floor(env.DEPENDENCY_DOWN_AFTER_MS / 4))),
      },
      rateLimitAlert: {
        percent: env.RATE_LIMIT_ALERT_PERCENT,
        minRefusals: env.RATE_LIMIT_ALERT_MIN_REFUSALS,
        windowMs: env.RATE_LIMIT_ALERT_WINDOW_MS,
      },
    },
    encryption,
    llm: {
      models,
      defaultModelId,
      transcriptionModel,
      visionMaxImages: env.LLM_VISION_MAX_IMAGES,
      firstDeltaTimeoutMs: env.LLM_FIRST_DELTA_TIMEOUT_MS,
      idleTimeoutMs: env.LLM_IDLE_TIMEOUT_MS,
      turnTimeoutMs: env.LLM_TURN_TIMEOUT_MS,
      maxRetries: env.LLM_MAX_RETRIES,
      retryBaseMs: env.LLM_RETRY_BASE_MS,
      retryMaxDelayMs: env.LLM_RETRY_MAX_DELAY_MS,
      breaker: {
        failures: env.LLM_BREAKER_FAILURES,
        failurePercent: env.LLM_BREAKER_FAILURE_PERCENT,
        minRequests: env.LLM_BREAKER_MIN_REQUESTS,
        cooldownMs: env.LLM_BREAKER_COOLDOWN_MS,
      },
    },
    retention: { days: env.RETENTION_DAYS, sweepIntervalMs: env.RETENTION_SWEEP_INTERVAL_MS },
    metrics: { token: metricsToken, port: env.METRICS_PORT, refreshMs: env.METRICS_REFRESH_MS },
    usage: {
      sampleMs: env.METRICS_SAMPLE_MS,
      maxRangeDays: env.ADMIN_METRICS_MAX_RANGE_DAYS,
      heavyReadsMax: env.ADMIN_HEAVY_READS_MAX,
    },
    shutdown: { timeoutMs: env.SHUTDOWN_TIMEOUT_MS, drainDelayMs },
    logging: { level: env.LOG_LEVEL },
    dataDir,
    upload: {
      maxBytes: env.UPLOAD_MAX_BYTES,
      quotaBytes: env.UPLOAD_QUOTA_BYTES,
      ratePerMinute: env.UPLOAD_RATE_LIMIT_PER_MINUTE,
      driver: env.STORAGE_DRIVER,
      s3,
      downloadUrlTtlS: env.DOWNLOAD_URL_TTL_S,
      dir: path.join(dataDir, 'files'),
    },
  });
}
