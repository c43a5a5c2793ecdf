import fastifyStatic from '@fastify/static';
import { Logger } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import * as path from 'node:path';
import { DevTokenIssuer } from '../auth/dev-token.issuer';
import { AppConfig } from '../config/app-config';
import { translator } from './i18n/catalogue';
import { pickLanguage } from './i18n/languages';
import { PageConfig, PageEntry } from './page-config';
import { renderPage } from './page-html';
import { loadWebAssets, WEB_PUBLIC_DIR, WebAssets } from './web-assets';

interface PageRoute {
  path: string;
  entry: PageEntry;
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

  const development = config.env === 'development';
  const routes: PageRoute[] = [
    { path: prefix, entry: 'chat' },
    { path: `${prefix}/`, entry: 'chat' },
    ...(development ? [{ path: `${prefix}/dev/host`, entry: 'dev-host' as const }] : []),
  ];
  const parentOrigins = config.http.allowedParentOrigins;
  const devTokens = development ? app.get(DevTokenIssuer) : undefined;

  for (const route of routes) {
    fastify.route({
      method: 'GET',
      url: route.path,
      handler: (request: FastifyRequest, reply: FastifyReply) =>
        sendPage(reply, assets, route.entry, {
          page: route.entry,
          prefix,
          lang: pickLanguage((request.query as { lang?: string }).lang, request.headers['accept-language']),
          parentOrigins,
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

function sendPage(reply: FastifyReply, assets: WebAssets, entry: PageEntry, config: PageConfig) {
  const t = translator(config.lang);
  return reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('vary', 'Accept, Accept-Language')
    .send(renderPage(config, assets.pages[entry], t('app.title'), t('app.noscript')));
}
