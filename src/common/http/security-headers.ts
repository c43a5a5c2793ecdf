import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { HelmetOptions } from 'helmet';
import { HttpConfig } from '../../config/app-config';

/** The security headers of every HTTP answer: Fastify's through @fastify/helmet, engine.io's through helmet. */
export function securityHeaders(http: HttpConfig): HelmetOptions {
  return {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        // blob: only for the message files the pages fetch with the user's token (an <img> or <audio>
        // cannot send one); only a script of the app's own origin can make a blob: URL for its page.
        imgSrc: ["'self'", 'data:', 'blob:'],
        mediaSrc: ["'self'", 'blob:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: frameAncestors(http),
        // helmet's default, off: every source is the page's own origin, so on HTTPS it upgrades nothing, and on
        // plain HTTP (development, a TLS-terminating proxy's inside) it would turn the page's own requests into
        // https requests that fail.
        upgradeInsecureRequests: null,
      },
    },
    // Embedding is governed by frame-ancestors above; X-Frame-Options cannot express an allow-list.
    frameguard: false,
  };
}

/**
 * Who may frame the pages: ALLOWED_PARENT_ORIGINS, and with `framedBySelf` (development) the app itself.
 */
function frameAncestors(http: HttpConfig): string[] {
  const origins = http.framedBySelf ? ["'self'", ...http.allowedParentOrigins] : http.allowedParentOrigins;
  return origins.length > 0 ? origins : ["'none'"];
}

/** The same headers as name/value pairs, for answers written straight to a socket. */
export function securityHeaderValues(http: HttpConfig): Record<string, string> {
  const values: Record<string, string> = {};
  // With fixed options helmet only sets headers: a recording response is all it needs.
  const recorder = {
    setHeader: (name: string, value: string | number) => (values[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => delete values[name.toLowerCase()],
  };
  helmet(securityHeaders(http))({} as IncomingMessage, recorder as unknown as ServerResponse, () => undefined);
  return values;
}
