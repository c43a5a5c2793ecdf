import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors/app-error';

/** How far a JSON body may nest (the body itself is level 1) and how many keys and items it may hold in all. */
export const JSON_BODY_LIMITS = { depth: 8, entries: 1000 };

/**
 * Why a parsed body is refused, or undefined: it must be an object within JSON_BODY_LIMITS. Validation
 * (class-transformer, class-validator) recurses through the body, so a 10,000-deep array overflowed the
 * stack there; this walk keeps its own stack and stops at the first excess.
 */
export function jsonBodyProblem(body: unknown, limits = JSON_BODY_LIMITS): string | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'The body must be a JSON object';
  const pending: [object, number][] = [[body, 1]];
  let entries = 0;
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, depth] = next;
    for (const child of Object.values(node)) {
      entries += 1;
      if (entries > limits.entries) return `The body holds more than ${limits.entries} keys and items`;
      if (child === null || typeof child !== 'object') continue;
      if (depth + 1 > limits.depth) return `The body is nested deeper than ${limits.depth} levels`;
      pending.push([child as object, depth + 1]);
    }
  }
  return undefined;
}

/**
 * JSON objects are the only bodies the API takes. Every other parser goes (Fastify answers 415 when
 * none matches: text/plain, forms, multipart), and the JSON one keeps Fastify's prototype-poisoning
 * checks, then applies jsonBodyProblem before any validation sees the body. Call before the app starts.
 */
export function acceptJsonBodiesOnly(fastify: FastifyInstance, bodyLimit: number): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, text, done) => {
    // Fastify's own parser answers through the callback; it returns nothing.
    void parseJson(request, text as string, (error, body) => {
      if (error) return done(error, undefined);
      const problem = jsonBodyProblem(body);
      if (problem) return done(new AppError('invalid_payload', problem), undefined);
      done(null, body);
    });
  });
}
