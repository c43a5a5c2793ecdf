import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';

// Every metric Chatbox exports is defined here. Labels are bounded: never user, session or request ids.
export const HTTP_REQUEST_DURATION = 'chatbox_http_request_duration_seconds';
export const SOCKETS_CONNECTED = 'chatbox_websocket_connections';
export const MESSAGES = 'chatbox_messages_total';
export const HELP_REQUESTS = 'chatbox_help_requests_total';
export const HELP_PICKUP = 'chatbox_help_pickup_seconds';
export const TAKEOVERS = 'chatbox_takeovers_total';
export const RELEASES = 'chatbox_releases_total';
export const TURNS_TAKEN_OVER = 'chatbox_ai_turns_taken_over_total';
export const ADMINS_CONNECTED = 'chatbox_admins_connected';
export const NOTIFICATIONS = 'chatbox_notifications_total';
export const NOTIFICATION_LATENCY = 'chatbox_notification_delivery_seconds';
export const NOTIFICATION_OUTBOX = 'chatbox_notification_outbox_pending';
export const AI_TURNS = 'chatbox_ai_turns_total';
export const TURN_DURATION = 'chatbox_ai_turn_duration_seconds';
export const FIRST_DELTA = 'chatbox_ai_first_delta_seconds';
export const ACTIVE_SESSIONS = 'chatbox_active_sessions';
export const TURNS_IN_FLIGHT = 'chatbox_ai_turns_in_flight';
export const DB_COMMANDS = 'chatbox_db_commands_total';
export const DECRYPT_FAILURES = 'chatbox_decrypt_failures_total';
export const LLM_REQUESTS = 'chatbox_llm_requests_total';
export const LLM_TOKENS = 'chatbox_llm_tokens_total';
export const LLM_FALLBACKS = 'chatbox_llm_fallbacks_total';
export const LLM_CIRCUIT_OPEN = 'chatbox_llm_circuit_open';
export const RATE_LIMIT_UNCOUNTED = 'chatbox_rate_limit_uncounted_total';
export const DEGRADED = 'chatbox_degraded';
export const RETENTION_SWEEPS = 'chatbox_retention_sweeps_total';
export const RETENTION_ERASED = 'chatbox_retention_erased_sessions_total';

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];

export const chatboxMetricProviders = [
  makeHistogramProvider({
    name: HTTP_REQUEST_DURATION,
    help: 'HTTP request duration in seconds, by route template',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
  makeGaugeProvider({
    name: SOCKETS_CONNECTED,
    help: 'Sockets connected to this replica (sum over replicas for the total)',
    labelNames: ['namespace'],
  }),
  makeCounterProvider({ name: MESSAGES, help: 'Messages persisted, by sender', labelNames: ['sender'] }),
  makeCounterProvider({
    name: HELP_REQUESTS,
    help: 'Help requests opened, by who asked (user, ai)',
    labelNames: ['source'],
  }),
  makeHistogramProvider({
    name: HELP_PICKUP,
    help: 'Time from a help request to an administrator taking the session, in seconds',
    buckets: [5, 15, 30, 60, 120, 300, 600, 1800, 3600],
  }),
  makeCounterProvider({ name: TAKEOVERS, help: 'Sessions an administrator took over' }),
  makeCounterProvider({
    name: RELEASES,
    help: 'Sessions handed back to the AI, by cause (admin_left, released, admin_gone, admin_idle)',
    labelNames: ['cause'],
  }),
  makeCounterProvider({
    name: TURNS_TAKEN_OVER,
    help: 'AI replies cut because an administrator took their session over',
  }),
  makeGaugeProvider({
    name: ADMINS_CONNECTED,
    help: 'Administrators (distinct people) with a socket on this replica (one may count on several replicas)',
  }),
  makeCounterProvider({
    name: NOTIFICATIONS,
    help: 'Notification attempts, by event, channel and outcome (sent, retried, failed, cancelled)',
    labelNames: ['event', 'channel', 'outcome'],
  }),
  makeHistogramProvider({
    name: NOTIFICATION_LATENCY,
    help: 'From a notification being due to its delivery, in seconds, by event and channel',
    labelNames: ['event', 'channel'],
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300],
  }),
  makeGaugeProvider({
    name: NOTIFICATION_OUTBOX,
    help: 'Notifications waiting in the outbox, as this replica last read it (the same figure on every replica: use max)',
  }),
  makeCounterProvider({ name: AI_TURNS, help: 'AI turns, by outcome', labelNames: ['outcome'] }),
  makeHistogramProvider({
    name: TURN_DURATION,
    help: 'AI turn duration in seconds, by the provider and model that answered',
    labelNames: ['provider', 'model'],
    buckets: LATENCY_BUCKETS,
  }),
  makeHistogramProvider({
    name: FIRST_DELTA,
    help: 'Time to the first AI delta in seconds, by provider and model',
    labelNames: ['provider', 'model'],
    buckets: LATENCY_BUCKETS,
  }),
  makeGaugeProvider({
    name: ACTIVE_SESSIONS,
    help: 'Active sessions, read from the database by one replica at a time (the others report 0): sum over replicas',
  }),
  makeGaugeProvider({
    name: TURNS_IN_FLIGHT,
    help: 'AI turns this replica is running (sum over replicas for the total)',
  }),
  makeCounterProvider({
    name: LLM_REQUESTS,
    help: 'Requests to LLM providers, by provider, model and outcome',
    labelNames: ['provider', 'model', 'outcome'],
  }),
  makeCounterProvider({
    name: LLM_TOKENS,
    help: 'Tokens reported by LLM providers (or estimated), by provider, model and kind',
    labelNames: ['provider', 'model', 'kind'],
  }),
  makeCounterProvider({
    name: LLM_FALLBACKS,
    help: 'Turns handed to a fallback model, by the model that failed and the one that took over',
    labelNames: ['from', 'to'],
  }),
  makeGaugeProvider({ name: LLM_CIRCUIT_OPEN, help: '1 while a provider circuit is open', labelNames: ['provider'] }),
  makeCounterProvider({
    name: DB_COMMANDS,
    help: 'Commands sent to MongoDB by this replica, by command name (find, insert, update, delete, findAndModify…)',
    labelNames: ['command'],
  }),
  makeGaugeProvider({
    name: DEGRADED,
    help: '1 while this replica serves without a dependency it can do without (Redis), by dependency',
    labelNames: ['dependency'],
  }),
  makeCounterProvider({
    name: RATE_LIMIT_UNCOUNTED,
    help: 'Requests counted by this replica alone because the shared rate-limit store (Redis) failed, by limit',
    labelNames: ['limit'],
  }),
  makeCounterProvider({
    name: RETENTION_SWEEPS,
    help: 'Passes of the retention sweeper this replica made (one replica of the cluster at a time sweeps)',
  }),
  makeCounterProvider({
    name: RETENTION_ERASED,
    help: 'Sessions deleted by this replica because they ended more than RETENTION_DAYS ago',
  }),
  makeCounterProvider({
    name: DECRYPT_FAILURES,
    help: 'Stored values that failed to decrypt',
    labelNames: ['key_id'],
  }),
];
