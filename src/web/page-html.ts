import { PageAssets, PageConfig } from './page-config';

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** JSON safe inside a `<script type="application/json">`: nothing in it can close the element. */
const scriptJson = (value: unknown) =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

/**
 * A page's HTML: its stylesheet, its module script and its configuration as inert JSON, so the strict
 * Content-Security-Policy (scripts and styles from the app's own origin only) holds with nothing inline.
 */
export function renderPage(config: PageConfig, assets: PageAssets, title: string, noScript: string): string {
  const asset = (file: string) => escapeHtml(`${config.prefix}/assets/${file}`);
  return [
    '<!doctype html>',
    `<html lang="${config.lang}">`,
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    // No icon: without this line the browser asks for /favicon.ico, outside the app's prefix.
    '<link rel="icon" href="data:,">',
    assets.style ? `<link rel="stylesheet" href="${asset(assets.style)}">` : '',
    `<script type="module" src="${asset(assets.script)}"></script>`,
    `<script type="application/json" id="chatbox-config">${scriptJson(config)}</script>`,
    '</head>',
    '<body>',
    `<noscript>${escapeHtml(noScript)}</noscript>`,
    '<div id="app"></div>',
    '</body>',
    '</html>',
    '',
  ]
    .filter((line) => line !== '')
    .join('\n');
}
