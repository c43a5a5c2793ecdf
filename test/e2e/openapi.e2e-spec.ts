import SwaggerParser from '@apidevtools/swagger-parser';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { register } from 'prom-client';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/load-config';
import { LogCapture, startTestApp, testEnv } from '../utils/test-app';

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>;
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
