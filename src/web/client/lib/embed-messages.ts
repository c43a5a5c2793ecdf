/**
 * The messages between a Chatbox page and the host page framing it. The page asks; the host answers with a
 * token. Both sides check the other's origin and post only to it; the token never travels in a URL.
 */
export const TOKEN_REQUEST = 'chatbox:token-request';
export const TOKEN = 'chatbox:token';

/** Why the page asks: it starts, its token is about to expire, or the server said it has expired. */
export type TokenRequestReason = 'initial' | 'expiring' | 'expired';

export interface TokenRequestMessage {
  type: typeof TOKEN_REQUEST;
  reason: TokenRequestReason;
}

export interface TokenMessage {
  type: typeof TOKEN;
  token: string;
}

export const isTokenRequest = (data: unknown): data is TokenRequestMessage =>
  typeof data === 'object' && data !== null && (data as { type?: unknown }).type === TOKEN_REQUEST;

export const isTokenMessage = (data: unknown): data is TokenMessage =>
  typeof data === 'object' &&
  data !== null &&
  (data as { type?: unknown }).type === TOKEN &&
  typeof (data as { token?: unknown }).token === 'string' &&
  (data as { token: string }).token.length > 0;
