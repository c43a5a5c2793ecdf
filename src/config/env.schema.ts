import 'reflect-metadata';
import { Expose, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

export const NODE_ENVS = ['development', 'production', 'test'] as const;
export const JWT_ALGORITHMS = ['HS256', 'RS256', 'ES256'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** `auto`: the embedded server runs on PostgreSQL when it can be started, else on SQLite with a warning. */
export const EMBEDDED_MONGO_BACKENDS = ['auto', 'postgresql', 'sqlite'] as const;
export type EmbeddedMongoBackend = (typeof EMBEDDED_MONGO_BACKENDS)[number];
export const STORAGE_DRIVERS = ['disk', 's3'] as const;
export type StorageDriver = (typeof STORAGE_DRIVERS)[number];

/** Every environment variable Chatbox reads, with its rule. Empty strings count as unset. */
export class EnvVars {
  @Expose() @IsIn(NODE_ENVS) NODE_ENV: (typeof NODE_ENVS)[number] = 'development';

  @Expose() @Type(() => Number) @Min(0) @Max(65535) @IsInt() PORT = 3000;
  @Expose() @IsOptional() @Matches(/^[A-Za-z0-9.:-]+$/, { message: 'must be a host name or IP address' }) HOST?: string;
  @Expose()
  @Matches(/^(\/[A-Za-z0-9._~-]+)+$/, {
    message: 'must start with "/", have no trailing "/" and use only letters, digits and . _ ~ -',
  })
  CHATBOX_PATH_PREFIX = '/chatbox';

  @Expose()
  @IsOptional()
  @Matches(/^mongodb(\+srv)?:\/\/\S+$/, { message: 'must be a mongodb:// or mongodb+srv:// URI' })
  MONGODB_URI?: string;
  @Expose() @IsIn(EMBEDDED_MONGO_BACKENDS) EMBEDDED_MONGO_BACKEND: EmbeddedMongoBackend = 'auto';
  @Expose()
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgres:// or postgresql:// URL' })
  EMBEDDED_POSTGRES_URL?: string;
  @Expose()
  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;
  @Expose() @IsIn(['true', 'false']) REQUIRE_DATASTORE_AUTH: 'true' | 'false' = 'false';

  @Expose() @IsOptional() @IsString() JWT_SECRET?: string;
  @Expose() @IsIn(JWT_ALGORITHMS) JWT_ALGORITHM: (typeof JWT_ALGORITHMS)[number] = 'HS256';
  @Expose() @IsOptional() @IsString() JWT_PUBLIC_KEY?: string;
  @Expose()
  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL' })
  JWT_JWKS_URL?: string;
  @Expose() @IsOptional() @IsString() JWT_ISSUER?: string;
  @Expose() @IsOptional() @IsString() JWT_AUDIENCE?: string;
  @Expose() @Type(() => Number) @Min(0) @Max(60) @IsInt() JWT_CLOCK_SKEW_S = 30;
  @Expose() @Type(() => Number) @Min(60) @Max(315360000) @IsInt() JWT_MAX_LIFETIME_S = 2592000;
  @Expose() @Type(() => Number) @Min(5) @Max(3600) @IsInt() AUTH_EXPIRY_WARNING_S = 60;

  @Expose() @Type(() => Number) @Min(1000) @Max(86400000) @IsInt() RECONNECT_WINDOW_MS = 900000;
  @Expose() @IsOptional() @Type(() => Number) @Min(100) @Max(3600000) @IsInt() SESSION_SWEEP_INTERVAL_MS?: number;
  @Expose() @IsOptional() @Type(() => Number) @Min(1) @Max(36500) @IsInt() RETENTION_DAYS?: number;
  @Expose() @Type(() => Number) @Min(100) @Max(86400000) @IsInt() RETENTION_SWEEP_INTERVAL_MS = 3600000;
  @Expose() @Type(() => Number) @Min(1) @Max(100000) @IsInt() MESSAGE_MAX_CHARS = 10000;
  @Expose() @Type(() => Number) @Min(1024) @Max(10485760) @IsInt() SOCKET_MAX_FRAME_BYTES = 65536;
  @Expose() @Type(() => Number) @Min(1) @Max(100000) @IsInt() RATE_LIMIT_EVENTS = 60;
  @Expose() @Type(() => Number) @Min(100) @Max(3600000) @IsInt() RATE_LIMIT_WINDOW_MS = 10000;
  @Expose() @Type(() => Number) @Min(1) @Max(100000) @IsInt() RATE_LIMIT_TYPING_EVENTS = 60;
  @Expose() @Type(() => Number) @Min(0) @Max(100) @IsInt() TURN_QUEUE_LIMIT = 5;
  @Expose() @Type(() => Number) @Min(1000) @Max(300000) @IsInt() TURN_LEASE_MS = 15000;
  @Expose() @Type(() => Number) @Min(1000) @Max(3600000) @IsInt() TURN_ABANDON_AFTER_MS = 60000;
  @Expose() @Type(() => Number) @Min(1) @Max(1000) @IsInt() SOCKETS_PER_USER = 10;
  @Expose() @Type(() => Number) @Min(1000) @Max(86400000) @IsInt() ADMIN_RELEASE_AFTER_MS = 120000;
  @Expose() @Type(() => Number) @Min(1000) @Max(86400000) @IsInt() ADMIN_IDLE_RELEASE_MS = 900000;
  // Notification channels: checked in full by parseNotificationConfig, each problem naming its variable.
  @Expose() @IsOptional() @IsString() SMTP_URL?: string;
  @Expose() @IsOptional() @IsString() SMTP_TLS_REJECT_UNAUTHORIZED?: string;
  @Expose() @IsOptional() @IsString() MAIL_FROM?: string;
  @Expose() @IsOptional() @IsString() ADMIN_EMAILS?: string;
  @Expose() @IsOptional() @IsString() ADMIN_CONSOLE_URL?: string;
  @Expose() @IsOptional() @IsString() SMS_API_URL?: string;
  @Expose() @IsOptional() @IsString() SMS_ACCOUNT_SID?: string;
  @Expose() @IsOptional() @IsString() SMS_AUTH_TOKEN?: string;
  @Expose() @IsOptional() @IsString() SMS_FROM?: string;
  @Expose() @IsOptional() @IsString() ADMIN_PHONES?: string;
  @Expose() @IsOptional() @IsString() WEBHOOK_URLS?: string;
  @Expose() @IsOptional() @IsString() WEBHOOK_SECRET?: string;
  @Expose() @Type(() => Number) @Min(1000) @Max(86400000) @IsInt() NOTIFY_MIN_INTERVAL_MS = 300000;
  @Expose() @IsOptional() @IsString() HELP_ESCALATION?: string;
  @Expose() @Type(() => Number) @Min(1000) @Max(86400000) @IsInt() HELP_ESCALATE_AFTER_MS = 300000;
  @Expose() @Type(() => Number) @Min(1) @Max(50) @IsInt() NOTIFY_MAX_ATTEMPTS = 6;
  @Expose() @Type(() => Number) @Min(10) @Max(3600000) @IsInt() NOTIFY_RETRY_BASE_MS = 2000;
  @Expose() @Type(() => Number) @Min(10) @Max(86400000) @IsInt() NOTIFY_RETRY_MAX_MS = 300000;
  @Expose() @Type(() => Number) @Min(50) @Max(600000) @IsInt() NOTIFY_POLL_MS = 5000;
  @Expose() @Type(() => Number) @Min(1000) @Max(3600000) @IsInt() NOTIFY_CLAIM_MS = 60000;
  @Expose() @Type(() => Number) @Min(1000) @Max(3600000) @IsInt() DEPENDENCY_DOWN_AFTER_MS = 60000;
  @Expose() @Type(() => Number) @Min(1) @Max(100) @IsInt() RATE_LIMIT_ALERT_PERCENT = 20;
  @Expose() @Type(() => Number) @Min(1) @Max(1000000) @IsInt() RATE_LIMIT_ALERT_MIN_REFUSALS = 50;
  @Expose() @Type(() => Number) @Min(1000) @Max(3600000) @IsInt() RATE_LIMIT_ALERT_WINDOW_MS = 60000;
  @Expose() @Type(() => Number) @Min(1) @Max(100000) @IsInt() HANDSHAKE_RATE_LIMIT_PER_MINUTE = 120;
  @Expose() @Type(() => Number) @Min(1) @Max(100000) @IsInt() PUBLIC_RATE_LIMIT_PER_MINUTE = 60;
  @Expose() @Type(() => Number) @Min(1) @Max(100000) @IsInt() ADMIN_RATE_LIMIT_PER_MINUTE = 300;
  @Expose() @IsOptional() @IsIn(['true', 'false']) OPENAPI_UI?: 'true' | 'false';
  @Expose() @Type(() => Number) @Min(0) @Max(10000) @IsInt() DEMO_DELTA_INTERVAL_MS = 30;

  @Expose() @IsOptional() @IsString() LLM_MODELS?: string;
  @Expose() @IsOptional() @IsString() LLM_DEFAULT_MODEL?: string;
  @Expose() @IsOptional() @IsString() TRANSCRIPTION_MODEL?: string;
  @Expose() @Type(() => Number) @Min(1) @Max(20) @IsInt() LLM_VISION_MAX_IMAGES = 4;
  @Expose() @Type(() => Number) @Min(100) @Max(600000) @IsInt() LLM_FIRST_DELTA_TIMEOUT_MS = 30000;
  @Expose() @Type(() => Number) @Min(100) @Max(600000) @IsInt() LLM_IDLE_TIMEOUT_MS = 30000;
  @Expose() @Type(() => Number) @Min(1000) @Max(3600000) @IsInt() LLM_TURN_TIMEOUT_MS = 120000;
  @Expose() @Type(() => Number) @Min(0) @Max(10) @IsInt() LLM_MAX_RETRIES = 2;
  @Expose() @Type(() => Number) @Min(1) @Max(60000) @IsInt() LLM_RETRY_BASE_MS = 500;
  @Expose() @Type(() => Number) @Min(1) @Max(600000) @IsInt() LLM_RETRY_MAX_DELAY_MS = 10000;
  @Expose() @Type(() => Number) @Min(1) @Max(1000) @IsInt() LLM_BREAKER_FAILURES = 5;
  @Expose() @Type(() => Number) @Min(1) @Max(100) @IsInt() LLM_BREAKER_FAILURE_PERCENT = 50;
  @Expose() @Type(() => Number) @Min(1) @Max(10000) @IsInt() LLM_BREAKER_MIN_REQUESTS = 10;
  @Expose() @Type(() => Number) @Min(30000) @Max(3600000) @IsInt() LLM_BREAKER_COOLDOWN_MS = 30000;
  @Expose() @IsOptional() @IsString() ENCRYPTION_KEY?: string;
  @Expose() @IsOptional() @IsString() ENCRYPTION_KEYS?: string;

  @Expose() @IsOptional() @IsString() METRICS_TOKEN?: string;
  @Expose() @IsOptional() @Type(() => Number) @Min(1) @Max(65535) @IsInt() METRICS_PORT?: number;
  @Expose() @Type(() => Number) @Min(100) @Max(600000) @IsInt() METRICS_REFRESH_MS = 15000;
  @Expose() @Type(() => Number) @Min(1000) @Max(3600000) @IsInt() METRICS_SAMPLE_MS = 60000;
  @Expose() @Type(() => Number) @Min(1) @Max(400) @IsInt() ADMIN_METRICS_MAX_RANGE_DAYS = 92;
  @Expose() @Type(() => Number) @Min(1) @Max(100) @IsInt() ADMIN_HEAVY_READS_MAX = 2;

  @Expose() @IsOptional() @IsString() TRUSTED_PROXIES?: string;
  @Expose() @IsOptional() @IsString() CORS_ORIGINS?: string;
  @Expose() @IsOptional() @IsString() ALLOWED_PARENT_ORIGINS?: string;
  @Expose() @IsOptional() @IsString() LINK_ALLOWED_HOSTS?: string;

  @Expose() @Type(() => Number) @Min(1024) @Max(104857600) @IsInt() HTTP_BODY_LIMIT_BYTES = 1048576;
  @Expose() @Type(() => Number) @Min(1000) @Max(600000) @IsInt() SHUTDOWN_TIMEOUT_MS = 25000;
  @Expose() @IsOptional() @Type(() => Number) @Min(0) @Max(600000) @IsInt() SHUTDOWN_DRAIN_DELAY_MS?: number;
  @Expose() @Type(() => Number) @Min(100) @Max(30000) @IsInt() READINESS_CHECK_TIMEOUT_MS = 1000;

  @Expose() @Type(() => Number) @Min(1) @Max(1073741824) @IsInt() UPLOAD_MAX_BYTES = 10485760;
  @Expose() @Type(() => Number) @Min(1) @Max(1099511627776) @IsInt() UPLOAD_QUOTA_BYTES = 104857600;
  @Expose() @Type(() => Number) @Min(1) @Max(10000) @IsInt() UPLOAD_RATE_LIMIT_PER_MINUTE = 20;
  @Expose() @IsIn(STORAGE_DRIVERS) STORAGE_DRIVER: StorageDriver = 'disk';
  // The S3 settings are checked together by loadConfig (required with STORAGE_DRIVER=s3), each problem naming its variable.
  @Expose() @IsOptional() @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL' }) S3_ENDPOINT?: string;
  @Expose() @IsOptional() @IsString() S3_REGION?: string;
  @Expose() @IsOptional() @IsString() S3_BUCKET?: string;
  @Expose() @IsOptional() @IsString() S3_ACCESS_KEY_ID?: string;
  @Expose() @IsOptional() @IsString() S3_SECRET_ACCESS_KEY?: string;
  @Expose() @IsOptional() @IsIn(['true', 'false']) S3_FORCE_PATH_STYLE?: 'true' | 'false';
  @Expose() @Type(() => Number) @Min(1) @Max(604800) @IsInt() DOWNLOAD_URL_TTL_S = 300;

  @Expose() @IsIn(LOG_LEVELS) LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';
  @Expose() @IsString() DATA_DIR = '.data';
}
