import type { EmbeddedMongoBackend, StorageDriver } from './env.schema';
import type { ChannelKind } from '../notification/notification-channel';
import type { NotificationConfig } from '../notification/notification-config';
import { ModelConfig } from './llm-models';

export type NodeEnv = 'development' | 'production' | 'test';

export interface HttpConfig {
  host: string;
  port: number;
  pathPrefix: string;
  bodyLimitBytes: number;
  /** IPs and CIDRs whose X-Forwarded-For is believed; empty trusts nobody. */
  trustedProxies: string[];
  /** `true` reflects any origin (development only); a list is matched exactly. */
  corsOrigins: true | string[];
  allowedParentOrigins: string[];
  /**
   * Hosts whose https links in a model's replies the pages render as links (`*.example.com` for its
   * subdomains); any other URL a model writes shows as text.
   */
  linkAllowedHosts: string[];
  /** Development only: the app's own pages may frame each other (its host page at `<prefix>/dev/host` does). */
  framedBySelf: boolean;
  /** Requests per minute per client address on routes that need no token. */
  publicRateLimitPerMinute: number;
  /** Requests per administrator per minute on the admin REST routes (counted per token subject, not address). */
  adminRateLimitPerMinute: number;
  /** Whether `<prefix>/docs` serves the OpenAPI UI (the document at `<prefix>/openapi.json` always is). */
  openApiUi: boolean;
}

export interface EncryptionConfig {
  activeKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
}

export interface AuthConfig {
  /** Signs development tokens and, with HS256, verifies every token. */
  jwtSecret: string;
  algorithm: 'HS256' | 'RS256' | 'ES256';
  publicKey?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  clockSkewS: number;
  /** The furthest ahead a token's `exp` may lie, in seconds. */
  maxLifetimeS: number;
  expiryWarningS: number;
}

export interface ChatConfig {
  reconnectWindowMs: number;
  sweepIntervalMs: number;
  maxMessageChars: number;
  maxFrameBytes: number;
  /** Per user and window: every event but `typing`, and `typing` on a budget of its own. */
  rateLimit: { events: number; typingEvents: number; windowMs: number };
  turnQueueLimit: number;
  /** How long a turn's lease lasts unless renewed; a replica that died is replaced this long after. */
  turnLeaseMs: number;
  /** A reply stops when no device has been in its session for this long. */
  turnAbandonAfterMs: number;
  demoDeltaIntervalMs: number;
  /** Sockets one user may hold across replicas; a newer one closes the oldest. */
  socketsPerUser: number;
  /** Socket.IO handshakes, and namespace connects, per client address per minute, counted before authentication. */
  handshakesPerMinute: number;
}

export interface AdminConfig {
  /** A session is handed back to the AI when its holder has had no socket connected for this long. */
  releaseAfterMs: number;
  /** … or has written nothing in it for this long. */
  idleReleaseMs: number;
  /** How often replicas refresh their administrators' holds and release the abandoned ones. */
  holdCheckMs: number;
}

export interface NotifyConfig {
  /** Where notifications go (email, webhook, SMS; the log when none is configured). */
  channels: NotificationConfig;
  /** The same event about the same thing goes out at most once per channel in each window this long. */
  minIntervalMs: number;
  /** The channel of each escalation step after the first, in order (empty: no escalation). */
  escalation: ChannelKind[];
  /** The delay between escalation steps of a help request nobody took. */
  escalateAfterMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** How often every replica looks for deliveries due. */
  pollMs: number;
  /** How long an attempt is a replica's; a replica that died is replaced this long after. */
  claimMs: number;
  /** MongoDB or Redis unreachable this long raises `dependency.down`; each is pinged every `checkMs`. */
  dependencyDown: { afterMs: number; checkMs: number };
  /**
   * `rate_limit.abnormal` is raised when, within `windowMs` on one replica, at least `minRefusals` rate-limit
   * decisions refused and they were at least `percent` of all the decisions.
   */
  rateLimitAlert: { percent: number; minRefusals: number; windowMs: number };
}

export interface LlmConfig {
  models: ModelConfig[];
  defaultModelId: string;
  /** The model TRANSCRIPTION_MODEL names (an openai one), when voice notes are to be transcribed. */
  transcriptionModel?: ModelConfig;
  /** How many of the newest images a vision model is shown in one request; older ones are notes. */
  visionMaxImages: number;
  firstDeltaTimeoutMs: number;
  idleTimeoutMs: number;
  turnTimeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  retryMaxDelayMs: number;
  breaker: { failures: number; failurePercent: number; minRequests: number; cooldownMs: number };
}

export interface S3Config {
  /** Absent: AWS's own endpoint for the region. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Absent: the SDK's default credential chain (instance roles, web identity, the environment). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  forcePathStyle: boolean;
}

export interface UploadConfig {
  maxBytes: number;
  /** The bytes of live (not deleted) files one user may keep. */
  quotaBytes: number;
  ratePerMinute: number;
  driver: StorageDriver;
  /** With `driver: 's3'`. */
  s3?: S3Config;
  /** How long a download URL works. */
  downloadUrlTtlS: number;
  /** Files written by the disk driver, and uploads on their way in (both drivers). */
  dir: string;
}

/** The whole configuration, validated once at boot and injected by class token. */
export class AppConfig {
  readonly env!: NodeEnv;
  readonly http!: HttpConfig;
  /** `embedded`: the server started when `uri` is unset (development only). */
  readonly mongo!: {
    uri?: string;
    readinessTimeoutMs: number;
    embedded: { backend: EmbeddedMongoBackend; postgresUrl?: string };
  };
  readonly redis!: { url?: string };
  readonly auth!: AuthConfig;
  readonly chat!: ChatConfig;
  readonly admin!: AdminConfig;
  readonly notify!: NotifyConfig;
  readonly llm!: LlmConfig;
  readonly encryption!: EncryptionConfig;
  /**
   * `days`: sessions ended longer ago than this are deleted (unset: kept forever); `sweepIntervalMs`: how
   * often one replica of the cluster looks for them.
   */
  readonly retention!: { days?: number; sweepIntervalMs: number };
  /** `refreshMs`: how often figures read from the database (active sessions) are refreshed. */
  readonly metrics!: { token?: string; port?: number; refreshMs: number };
  /**
   * `sampleMs`: how often the cluster's active sessions are sampled for the usage figures (one sample per
   * interval, whichever replica writes it first); `maxRangeDays`: the longest range one usage request reads;
   * `heavyReadsMax`: how many usage requests one replica runs at once.
   */
  readonly usage!: { sampleMs: number; maxRangeDays: number; heavyReadsMax: number };
  readonly shutdown!: { timeoutMs: number; drainDelayMs: number };
  readonly logging!: { level: string };
  readonly dataDir!: string;
  /** What is unsafe but allowed (REQUIRE_DATASTORE_AUTH=false): logged as warnings at start-up. */
  readonly warnings!: string[];
  readonly upload!: UploadConfig;

  constructor(values: Omit<AppConfig, 'withMongoUri'>) {
    Object.assign(this, values);
  }

  withMongoUri(uri: string): AppConfig {
    return new AppConfig({ ...this, mongo: { ...this.mongo, uri } });
  }
}
