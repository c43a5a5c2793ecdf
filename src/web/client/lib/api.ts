import type { ProtocolError } from './protocol';
import { RequestError } from './connection';
import type { TokenSource } from './connection';

/** A JSON REST call to the app with the host's token; a refused token is renewed once and retried. */
export async function apiGet<T>(prefix: string, tokens: TokenSource, path: string): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    const token = tokens.current() ?? (await tokens.request('initial'));
    const response = await fetch(`${prefix}${path}`, {
      headers: { accept: 'application/json', authorization: `Bearer ${token}` },
    });
    if (response.ok) return (await response.json()) as T;
    const body = (await response.json().catch(() => ({}))) as Partial<ProtocolError>;
    const error: ProtocolError = {
      code: body.code ?? 'unavailable',
      message: body.message ?? response.statusText,
      recoverable: response.status >= 500 || response.status === 429,
    };
    if (response.status === 401 && attempt === 0) {
      await tokens.request('expired');
      continue;
    }
    throw new RequestError(error);
  }
}
