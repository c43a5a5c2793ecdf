/**
 * Every error code a client can see — HTTP bodies, socket acks and `ai:error` alike — with the HTTP
 * status it maps to and whether the same request can succeed later (after a wait, a retry or a new token).
 * The HTTP filter, the socket acks and the turn engine all read this table; nothing else decides.
 */
export const ERRORS = {
  invalid_payload: { status: 400, recoverable: false },
  unauthorized: { status: 401, recoverable: false },
  token_expired: { status: 401, recoverable: true },
  forbidden: { status: 403, recoverable: false },
  not_found: { status: 404, recoverable: false },
  /** A socket event the namespace does not have (`admin:*` on `/chat`, for one). */
  unknown_event: { status: 404, recoverable: false },
  method_not_allowed: { status: 405, recoverable: false },
  conflict: { status: 409, recoverable: false },
  session_ended: { status: 409, recoverable: false },
  busy: { status: 409, recoverable: true },
  /** Another administrator holds the session (the error names them). */
  session_taken: { status: 409, recoverable: false },
  /** This socket was closed for a newer one of the same user (SOCKETS_PER_USER). */
  connection_replaced: { status: 409, recoverable: false },
  payload_too_large: { status: 413, recoverable: false },
  /** An upload over UPLOAD_MAX_BYTES (refused as soon as it passes the limit). */
  file_too_large: { status: 413, recoverable: false },
  /** An upload that would take its user past UPLOAD_QUOTA_BYTES; deleting files makes room. */
  quota_exceeded: { status: 413, recoverable: false },
  unsupported_media_type: { status: 415, recoverable: false },
  /** An upload whose content (never its name or declared type) is not of an allowed kind. */
  unsupported_file_type: { status: 415, recoverable: false },
  content_filter: { status: 422, recoverable: false },
  rate_limited: { status: 429, recoverable: true },
  /** This replica already runs as many heavy reads (usage metrics) as it takes at once; retry shortly. */
  too_many_requests: { status: 429, recoverable: true },
  internal_error: { status: 500, recoverable: true },
  not_supported: { status: 501, recoverable: false },
  /** The model's provider refused the request itself (its 4xx other than 401/403/408/429). */
  bad_request: { status: 502, recoverable: false },
  /** The model's provider refused Chatbox's credentials. */
  auth: { status: 502, recoverable: false },
  not_ready: { status: 503, recoverable: true },
  unavailable: { status: 503, recoverable: true },
  /** A reply cut by a replica stopping or dying; the message is answered again. */
  interrupted: { status: 503, recoverable: true },
  timeout: { status: 504, recoverable: true },
} as const satisfies Record<string, { status: number; recoverable: boolean }>;

export type ErrorCode = keyof typeof ERRORS;

const BY_STATUS = new Map<number, ErrorCode>(
  (Object.entries(ERRORS) as [ErrorCode, { status: number }][]).reverse().map(([code, { status }]) => [status, code]),
);

/** The code for a status that arrived without one (framework and parser errors): the first declared for it. */
export function codeForStatus(status: number): ErrorCode {
  return BY_STATUS.get(status) ?? (status >= 500 ? 'internal_error' : 'invalid_payload');
}
