import type { IncomingMessage } from 'node:http';
import { sameOrigin } from './redis-io.adapter';

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('sameOrigin', () => {
  it('holds when the Origin names the host the request was sent to', () => {
    expect(sameOrigin(request({ origin: 'https://chat.example.com', host: 'chat.example.com' }))).toBe(true);
    expect(sameOrigin(request({ origin: 'http://127.0.0.1:3000', host: '127.0.0.1:3000' }))).toBe(true);
    expect(sameOrigin(request({ origin: 'https://chat.example.com', host: 'CHAT.example.com' }))).toBe(true);
  });

  it('fails for another host or port, an opaque origin, or a missing header', () => {
    expect(sameOrigin(request({ origin: 'https://evil.example', host: 'chat.example.com' }))).toBe(false);
    expect(sameOrigin(request({ origin: 'http://127.0.0.1:3001', host: '127.0.0.1:3000' }))).toBe(false);
    expect(sameOrigin(request({ origin: 'null', host: 'chat.example.com' }))).toBe(false);
    expect(sameOrigin(request({ host: 'chat.example.com' }))).toBe(false);
    expect(sameOrigin(request({ origin: 'https://chat.example.com' }))).toBe(false);
  });
});
