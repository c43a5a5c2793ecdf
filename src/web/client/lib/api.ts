import type { ProtocolError } from './protocol';
import { RequestError } from './connection';
import type { TokenSource } from './connection';

/**
 * A JSON REST call to the app: with the host's token when `tokens` is given (a refused token is renewed
 * once and the call retried), without one for public routes. Errors reject as RequestError with the code.
 */
export async function api<T>(
  prefix: string,
  tokens: TokenSource | undefined,
  path: string,
  init: { method?: 'GET' | 'POST' | 'DELETE'; body?: object } = {},
): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (tokens) headers.authorization = `Bearer ${tokens.current() ?? (await tokens.request('initial'))}`;
    if (init.body) headers['content-type'] = 'application/json';
    const response = await fetch(`${prefix}${path}`, {
      method: init.method ?? 'GET',
      headers,
      body: init.body ? JSON.stringify(init.body) : undefined,
    });
    if (response.status === 204) return undefined as T;
    if (response.ok) return (await response.json()) as T;
    const body = (await response.json().catch(() => ({}))) as Partial<ProtocolError>;
    if (tokens && response.status === 401 && attempt === 0) {
      await tokens.request('expired');
      continue;
    }
    throw new RequestError({
      code: body.code ?? 'unavailable',
      message: body.message ?? response.statusText,
      recoverable: response.status >= 500 || response.status === 429,
    });
  }
}
