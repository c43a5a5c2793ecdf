import { randomUUID } from 'node:crypto';
import SwaggerParser from '@apidevtools/swagger-parser';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { register } from 'prom-client';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/load-config';
import { AdminClient } from '../utils/admin-client';
import { ChatClient, signToken } from '../utils/chat-client';
import { LogCapture, startTestApp, TestApp, testEnv } from '../utils/test-app';
import { uploadForm } from '../utils/uploads';

type Schema = Record<string, unknown>;
interface OpenApiResponse {
  description?: string;
  content?: Record<string, { schema?: Schema }>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, OpenApiResponse>; security?: unknown[] }>>;
}

/** 2xx, and the 302 of GET /files/{id} (its success is a redirect to the signed URL). */
const isSuccess = (status: string) => /^(2\d\d|302)$/.test(status);
/** No body: 204, and a redirect. */
const BODILESS = ['204', '302'];
/**
 * What a route's success body is documented as: Prometheus text for /metrics, a zip for the export, the
 * file's own type for a signed download and a file's content, JSON everywhere else.
 */
const NOT_JSON: Record<string, string> = {
  '/metrics': 'text/plain',
  '/chatbox/me/export': 'application/zip',
  '/chatbox/downloads/{key}': '*/*',
  '/chatbox/files/{id}/content': '*/*',
};
const mediaTypeOf = (route: string) => NOT_JSON[route] ?? 'application/json';

/** Every success response of the document, but those without a body. */
function successResponses(doc: OpenApiDocument): { operation: string; route: string; response: OpenApiResponse }[] {
  return Object.entries(doc.paths).flatMap(([route, methods]) =>
    Object.entries(methods).flatMap(([method, { responses }]) =>
      Object.entries(responses)
        .filter(([status]) => isSuccess(status) && !BODILESS.includes(status))
        .map(([status, response]) => ({ operation: `${method.toUpperCase()} ${route} ${status}`, route, response })),
    ),
  );
}

/** The places in a (dereferenced) schema that say "an object" and nothing of what it holds. */
function vagueObjects(schema: Schema, at = ''): string[] {
  const children: [string, unknown][] = [
    ...Object.entries((schema.properties as Record<string, unknown> | undefined) ?? {}).map(
      ([key, value]): [string, unknown] => [`${at}.${key}`, value],
    ),
    [`${at}[]`, schema.items],
    [`${at}{}`, schema.additionalProperties],
    ...['allOf', 'anyOf', 'oneOf'].flatMap((key) =>
      ((schema[key] as unknown[] | undefined) ?? []).map((value): [string, unknown] => [at, value]),
    ),
  ];
  const structured = ['properties', 'additionalProperties', 'allOf', 'anyOf', 'oneOf'].some((k) => k in schema);
  return [
    ...(schema.type === 'object' && !structured ? [at || '(body)'] : []),
    ...children.flatMap(([path, child]) =>
      child && typeof child === 'object' ? vagueObjects(child as Schema, path) : [],
    ),
  ];
}

/**
 * OpenAPI 3.0's schema dialect as JSON Schema for Ajv: `nullable` becomes a union with null, and an object
 * that lists its properties may hold no others, so an undocumented field fails as surely as a mistyped one.
 */
function jsonSchemaOf(schema: Schema): Schema {
  const out = { ...schema };
  delete out.nullable;
  delete out.example;
  if (out.properties) {
    out.properties = Object.fromEntries(
      Object.entries(out.properties as Record<string, Schema>).map(([key, value]) => [key, jsonSchemaOf(value)]),
    );
    out.additionalProperties ??= false;
  }
  if (out.items && typeof out.items === 'object') out.items = jsonSchemaOf(out.items as Schema);
  if (out.additionalProperties && typeof out.additionalProperties === 'object') {
    out.additionalProperties = jsonSchemaOf(out.additionalProperties as Schema);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    if (Array.isArray(out[key])) out[key] = (out[key] as Schema[]).map(jsonSchemaOf);
  }
  return schema.nullable ? { anyOf: [out, { type: 'null' }] } : out;
}

describe('the OpenAPI document', () => {
  let app: NestFastifyApplication;
  let baseUrl: string;
  /** Every route the HTTP server registered, as `METHOD /path` with OpenAPI's `{param}`. */
  const routes: string[] = [];

  beforeAll(async () => {
    register.clear();
    app = await createApp(loadConfig(testEnv()), { logDestination: new LogCapture() });
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onRoute', (route) => {
        for (const method of [route.method].flat()) {
          // The UI's own files are not part of the API.
          if (method === 'HEAD' || method === 'OPTIONS' || route.url.startsWith('/chatbox/docs')) continue;
          routes.push(`${method} ${route.url.replace(/:([A-Za-z]+)/g, '{$1}')}`);
        }
      });
    await app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  });
  afterAll(() => app.close());

  const document = async () => (await (await fetch(`${baseUrl}/chatbox/openapi.json`)).json()) as OpenApiDocument;

  it('is a valid OpenAPI 3 document', async () => {
    const doc = await document();

    expect(doc.openapi).toMatch(/^3\./);
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it('lists every route the service serves, with its errors in the ErrorResponse shape', async () => {
    const doc = await document();
    const documented = Object.entries(doc.paths).flatMap(([route, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${route}`),
    );

    expect(routes.length).toBeGreaterThan(10);
    expect(routes.filter((route) => !documented.includes(route))).toEqual([]);
    for (const [route, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const errors = Object.keys(operation.responses).filter((status) => Number(status) >= 400);
        expect({ route: `${method} ${route}`, errors: errors.length > 0 }).toEqual({
          route: `${method} ${route}`,
          errors: true,
        });
      }
    }
  });

  it('gives every success response a schema of what its body holds', async () => {
    const doc = await document();
    const successes = successResponses(doc);

    expect(successes.length).toBeGreaterThan(10);
    const operations = Object.entries(doc.paths).flatMap(([route, methods]) =>
      Object.entries(methods).map(([method, { responses }]) => ({ operation: `${method} ${route}`, responses })),
    );
    const undocumented = operations.filter(({ responses }) => !Object.keys(responses).some(isSuccess));
    expect(undocumented.map(({ operation }) => operation)).toEqual([]);
    const lacking = successes.flatMap(({ operation, route, response }) => {
      const schema = response.content?.[mediaTypeOf(route)]?.schema;
      return !schema || Object.keys(schema).length === 0 ? [`${operation}: no ${mediaTypeOf(route)} schema`] : [];
    });
    expect(lacking).toEqual([]);
    // A property without its `type` is documented as a bare object: that is no schema either.
    const dereferenced = (await SwaggerParser.dereference(structuredClone(doc) as never)) as unknown as OpenApiDocument;
    const vague = successResponses(dereferenced).flatMap(({ operation, route, response }) =>
      vagueObjects(response.content![mediaTypeOf(route)].schema!).map((at) => `${operation}: ${at}`),
    );
    expect(vague).toEqual([]);
  });

  it('serves its UI at <prefix>/docs outside production', async () => {
    const res = await fetch(`${baseUrl}/chatbox/docs`);

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
  });
});

describe('the OpenAPI UI with OPENAPI_UI=false', () => {
  it('is not served, while the document is', async () => {
    const t = await startTestApp({ OPENAPI_UI: 'false' });
    try {
      expect((await fetch(`${t.baseUrl}/chatbox/docs`)).status).toBe(404);
      expect((await fetch(`${t.baseUrl}/chatbox/openapi.json`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe('what the routes answer', () => {
  let t: TestApp;
  let doc: OpenApiDocument;
  const clients: { close(): void }[] = [];
  const ajv = addFormats(new Ajv({ allErrors: true, strict: true }));

  beforeAll(async () => {
    t = await startTestApp({ DEMO_DELTA_INTERVAL_MS: '0' });
    const raw = (await (await fetch(`${t.baseUrl}/chatbox/openapi.json`)).json()) as OpenApiDocument;
    doc = (await SwaggerParser.dereference(raw as never)) as unknown as OpenApiDocument;
  });
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await t.close();
  });

  interface Answer {
    operation: string;
    route: string;
    method: string;
    status: number;
    mediaType: string;
    body: unknown;
  }
  const answers: Answer[] = [];

  /** Calls `route` (the document's path, `{param}`s filled from `params`) and keeps what it answered. */
  const call = async <T = Record<string, unknown>>(
    method: string,
    route: string,
    {
      token,
      params = {},
      query = '',
      body,
      form,
    }: { token?: string; params?: Record<string, string>; query?: string; body?: unknown; form?: FormData },
  ): Promise<T> => {
    const path = route.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name]));
    const res = await fetch(`${t.baseUrl}${path}${query}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: form ?? (body === undefined ? undefined : JSON.stringify(body)),
      redirect: 'manual',
    });
    const mediaType = (res.headers.get('content-type') ?? '').split(';')[0];
    const text = await res.text();
    const parsed: unknown = mediaType === 'application/json' ? JSON.parse(text) : text;
    if (!res.ok && res.status !== 302) throw new Error(`${method} ${path}${query} answered ${res.status}: ${text}`);
    answers.push({ operation: `${method} ${route}`, route, method, status: res.status, mediaType, body: parsed });
    return parsed as T;
  };

  /** Why an answer does not match what the document says of its route and status (nothing when it does). */
  const mismatch = ({ route, method, status, mediaType, body }: Answer): string | undefined => {
    const response = doc.paths[route]?.[method.toLowerCase()]?.responses[String(status)];
    if (!response) return `status ${status} is not documented`;
    if (BODILESS.includes(String(status))) return body === '' ? undefined : `a ${status} with a body`;
    const schema = (response.content?.[mediaType] ?? response.content?.['*/*'])?.schema;
    if (!schema) return `no ${mediaType || 'content type'} schema for ${status}`;
    const validate = ajv.compile(jsonSchemaOf(schema));
    if (validate(body)) return undefined;
    return (validate.errors ?? [])
      .map(({ instancePath, message, params }) => {
        const extra = (params as { additionalProperty?: string }).additionalProperty;
        return `body${instancePath} ${message}${extra ? `: ${extra}` : ''}`;
      })
      .join('; ');
  };

  it('answers every route with a body its documented schema accepts', async () => {
    const userId = `u-${randomUUID()}`;
    const user = await signToken(t.env.JWT_SECRET, { sub: userId, name: 'Uma' });
    const admin = await signToken(t.env.JWT_SECRET, { sub: `a-${randomUUID()}`, name: 'Ann', roles: ['admin'] });
    // A session with an exchange in it and a request for a human, and another one the user left active.
    const chat = await ChatClient.connect(t.baseUrl, user);
    clients.push(chat);
    const exchange = async (sessionId: string) => {
      const { messageId } = await chat.ok<{ messageId: string }>('message:send', {
        sessionId,
        clientMessageId: randomUUID(),
        content: 'where is my parcel?',
      });
      await chat.waitForEvent('ai:end', (e) => e.replyTo === messageId);
    };
    const { sessionId: other } = await chat.ok<{ sessionId: string }>('session:start', {});
    await exchange(other);
    const { sessionId } = await chat.ok<{ sessionId: string }>('session:start', {});
    await exchange(sessionId);
    await chat.ok('help:request', { sessionId, reason: 'it never came' });
    const id = { id: sessionId };

    // The user's side, a help request open.
    await call('GET', '/chatbox/sessions', { token: user });
    const asked = await call<{ session: { help: unknown } }>('GET', '/chatbox/sessions/{id}', {
      token: user,
      params: id,
    });
    await call('GET', '/chatbox/sessions/{id}/messages', { token: user, params: id, query: '?limit=2' });
    const share = await call<{ id: string; token: string }>('POST', '/chatbox/sessions/{id}/shares', {
      token: user,
      params: id,
      body: { expiresInSeconds: 3600 },
    });
    await call('POST', '/chatbox/sessions/{id}/shares', { token: user, params: id, body: {} });
    await call('GET', '/chatbox/shared/{token}', { params: { token: share.token } });

    // An administrator reads it, takes it over and answers, hands it back.
    await call('GET', '/chatbox/admin/sessions', { token: admin, query: '?withTotal=true' });
    await call('GET', '/chatbox/admin/sessions/{id}', { token: admin, params: id, query: '?limit=5' });
    const desk = new AdminClient(t.baseUrl, admin);
    clients.push(desk);
    await desk.connected();
    await desk.ok('admin:join', { sessionId });
    await desk.ok('admin:message', { sessionId, clientMessageId: randomUUID(), content: 'Ann here, let me look' });
    const held = await call<{ session: { holder: unknown } }>('GET', '/chatbox/sessions/{id}', {
      token: user,
      params: id,
    });
    await call('GET', '/chatbox/admin/users/{userId}/sessions', { token: admin, params: { userId } });
    const released = await call('POST', '/chatbox/admin/sessions/{id}/release', { token: admin, params: id });
    await call('POST', '/chatbox/admin/sessions/{id}/release', { token: admin, params: id });
    // The nullable parts were seen both ways.
    expect([asked.session.help, held.session.holder, released.holder]).toEqual([
      expect.objectContaining({ reason: 'it never came' }),
      expect.objectContaining({ name: 'Ann' }),
      null,
    ]);

    // Both end, one by the user and one by an administrator; the link still shows the ended session.
    await call('POST', '/chatbox/sessions/{id}/end', { token: user, params: id });
    await call('POST', '/chatbox/admin/sessions/{id}/end', { token: admin, params: { id: other } });
    await call('GET', '/chatbox/admin/sessions', { token: admin, query: '?status=ended' });
    await call('GET', '/chatbox/admin/audit', { token: admin });
    await call('GET', '/chatbox/sessions/{id}/shares', { token: user, params: id });
    await call('GET', '/chatbox/shared/{token}', { params: { token: share.token }, query: '?limit=1' });
    await call('DELETE', '/chatbox/sessions/{id}/shares/{shareId}', {
      token: user,
      params: { ...id, shareId: share.id },
    });

    // A file: uploaded, fetched through its signed URL and from the app, deleted.
    const file = await call<{ fileId: string }>('POST', '/chatbox/files', {
      token: user,
      form: uploadForm(Buffer.from('parcel receipt\n'), 'receipt.txt'),
    });
    await call('GET', '/chatbox/files/{id}', { token: user, params: { id: file.fileId } });
    const signed = await fetch(`${t.baseUrl}/chatbox/files/${file.fileId}`, {
      headers: { authorization: `Bearer ${user}` },
      redirect: 'manual',
    });
    const location = new URL(signed.headers.get('location')!, t.baseUrl);
    await call('GET', '/chatbox/downloads/{key}', {
      params: { key: location.pathname.split('/').pop()! },
      query: location.search,
    });
    await call('GET', '/chatbox/files/{id}/content', { token: user, params: { id: file.fileId } });
    await call('DELETE', '/chatbox/files/{id}', { token: user, params: { id: file.fileId } });

    // Usage figures and probes.
    const range = `?from=${new Date(Date.now() - 3600_000).toISOString()}&to=${new Date(Date.now() + 3600_000).toISOString()}`;
    await call('GET', '/chatbox/admin/metrics', { token: admin, query: `${range}&bucket=hour` });
    await call('GET', '/chatbox/admin/users/{userId}/usage', { token: admin, params: { userId }, query: range });
    await call('GET', '/chatbox/healthz', {});
    await call('GET', '/chatbox/readyz', {});
    await call('GET', '/metrics', { token: t.env.METRICS_TOKEN });
    await call('GET', '/chatbox/me/export', { token: user });
    // Erasure last, as it deletes the user's sessions used above; its audit record names no session.
    await call('DELETE', '/chatbox/me', { token: user });
    await call('GET', '/chatbox/admin/audit', { token: admin, query: '?limit=1' });

    const documented = Object.entries(doc.paths).flatMap(([route, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${route}`),
    );
    expect(documented.filter((operation) => !answers.some((a) => a.operation === operation))).toEqual([]);
    expect(
      answers.flatMap((answer) => {
        const why = mismatch(answer);
        return why ? [`${answer.operation} ${answer.status}: ${why}`] : [];
      }),
    ).toEqual([]);
  });
});
