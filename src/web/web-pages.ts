import fastifyStatic from '@fastify/static';
import { Logger } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import * as path from 'node:path';
import { DevTokenIssuer } from '../auth/dev-token.issuer';
import { AppConfig } from '../config/app-config';
import { translator } from './i18n/catalogue';
import { pickLanguage } from './i18n/languages';
import { PageConfig, PageEntry } from './page-config';
import { renderPage } from './page-html';
import { loadWebAssets, WEB_PUBLIC_DIR, WebAssets } from './web-assets';

/**
 * A route constraint that picks the page over the REST route of the same path (`/sessions`, `/shared/:token`)
 * when the request prefers HTML, as a browser navigating does; API clients keep getting JSON.
 */
export const HTML_CONSTRAINT = 'page';
type ConstraintStrategy = NonNullable<FastifyServerOptions['constraints']>[string];
type RouteHandler = Parameters<ReturnType<ConstraintStrategy['storage']>['set']>[1];

export const htmlConstraint: ConstraintStrategy = {
  name: HTML_CONSTRAINT,
  storage() {
    const handlers = new Map<unknown, RouteHandler>();
    return {
      get: (value: unknown) => handlers.get(value) ?? null,
      set: (value: unknown, handler: RouteHandler) => void handlers.set(value, handler),
    };
  },
  validate: (value: unknown) => {
    if (value !== 'html') throw new Error(`the ${HTML_CONSTRAINT} constraint takes only 'html'`);
  },
  deriveConstraint: (req) => (prefersHtml(req.headers.accept) ? 'html' : undefined),
  mustMatchWhenDerived: false,
};

/** Whether an Accept header asks for HTML (with a non-zero quality): browsers navigating do, `fetch` does not. */
export function prefersHtml(accept: string | string[] | undefined): boolean {
  return [accept ?? '']
    .flat()
    .join(',')
    .split(',')
    .some((part) => {
      const [range, ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return range.trim().toLowerCase() === 'text/html' && (q === undefined || Number(q) > 0);
    });
}

interface PageRoute {
  path: string;
  entry: PageEntry;
  /** Shares its path with a REST route: served only to requests that prefer HTML. */
  negotiated?: boolean;
}

/**
 * Serves the pages under `<prefix>/`: the chat (`/`), the user's sessions, the admin console, a shared
 * conversation, the host pages' loader (`/embed.js`) and, in development only, a host page that signs
 * the frame in as the development user or admin. HTML is never cached; the bundles, named by content
 * hash, are cached for a year.
 */
export async function registerWebPages(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const assets = loadWebAssets();
  const { pathPrefix: prefix } = config.http;
  const fastify = app.getHttpAdapter().getInstance();
  if (!assets) {
    new Logger('WebPages').warn(`The pages are not built (no ${WEB_PUBLIC_DIR}/manifest.json): run npm run build`);
    return;
  }
  await app.register(fastifyStatic, {
    root: path.join(WEB_PUBLIC_DIR, 'assets'),
    prefix: `${prefix}/assets/`,
    decorateReply: false,
    index: false,
    immutable: true,
    maxAge: '365d',
  });

  fastify.addConstraintStrategy(htmlConstraint);
  const development = config.env === 'development';
  const routes: PageRoute[] = [
    { path: prefix, entry: 'chat' },
    { path: `${prefix}/`, entry: 'chat' },
    { path: `${prefix}/sessions`, entry: 'sessions', negotiated: true },
    { path: `${prefix}/shared/:token`, entry: 'shared', negotiated: true },
    { path: `${prefix}/admin`, entry: 'admin' },
    ...(development ? [{ path: `${prefix}/dev/host`, entry: 'dev-host' as const }] : []),
  ];
  const parentOrigins = config.http.allowedParentOrigins;
  const devTokens = development ? app.get(DevTokenIssuer) : undefined;

  for (const route of routes) {
    fastify.route({
      method: 'GET',
      url: route.path,
      ...(route.negotiated ? { constraints: { [HTML_CONSTRAINT]: 'html' } } : {}),
      handler: (request: FastifyRequest, reply: FastifyReply) =>
        route.entry === 'dev-host' && !fromThisMachine(request)
          ? reply.callNotFound()
          : sendPage(reply, assets, route.entry, {
              page: route.entry,
              prefix,
              lang: pickLanguage((request.query as { lang?: string }).lang, request.headers['accept-language']),
              parentOrigins,
              modelLinkHosts: config.http.linkAllowedHosts,
              selfParent: config.http.framedBySelf,
              ...(route.entry === 'dev-host' && devTokens ? { devTokens: devTokens.issue() } : {}),
            }),
    });
  }
  fastify.get(`${prefix}/embed.js`, (_request, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      // Host pages on other origins load it with a <script> tag.
      .header('cross-origin-resource-policy', 'cross-origin')
      .send(assets.embedScript),
  );
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
/** Headers a reverse proxy adds: their presence means the browser is not the peer. */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip', 'via'];
const isLoopbackAddress = (address = '') => /^(127\.|::1$|::ffff:127\.)/.test(address);

/**
 * The development host page holds tokens: it is served only to a browser on this machine that asked for it
 * by a loopback name (not through a rebound DNS name), never to another site's script (an Origin header
 * other than the page's own: top-level navigations send none), and never through a proxy (a local one
 * passes on whatever Host a remote client chose, from a loopback peer).
 */
export function fromThisMachine(request: FastifyRequest): boolean {
  const { host, origin } = request.headers;
  if (PROXY_HEADERS.some((name) => request.headers[name] !== undefined)) return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${host ?? ''}`).hostname;
  } catch {
    return false;
  }
  if (!LOOPBACK_HOSTS.has(hostname) || !isLoopbackAddress(request.socket.remoteAddress)) return false;
  return origin === undefined || origin === `http://${host}`;
}

function sendPage(reply: FastifyReply, assets: WebAssets, entry: PageEntry, config: PageConfig) {
  const t = translator(config.lang);
  return reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('vary', 'Accept, Accept-Language')
    .send(renderPage(config, assets.pages[entry], t('app.title'), t('app.noscript')));
}
