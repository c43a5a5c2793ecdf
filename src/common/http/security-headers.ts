import type { HelmetOptions } from 'helmet';
import { HttpConfig } from '../../config/app-config';

/** The security headers of every HTTP answer: Fastify's through @fastify/helmet, engine.io's through helmet. */
export function securityHeaders(http: HttpConfig): HelmetOptions {
  return {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: http.allowedParentOrigins.length > 0 ? http.allowedParentOrigins : ["'none'"],
      },
    },
    // Embedding is governed by frame-ancestors above; X-Frame-Options cannot express an allow-list.
    frameguard: false,
  };
}
