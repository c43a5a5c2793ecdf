import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { PROJECT_ROOT } from '../setup/test-env';

/**
 * Debian's chromium (installed by .ci/run), or CHROMIUM_PATH. With `fakeMedia`, getUserMedia is granted
 * without a prompt and answered by Chromium's fake devices (a beeping microphone, a test-pattern camera).
 */
export function launchBrowser({ fakeMedia = false } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...(fakeMedia ? ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'] : []),
    ],
  });
}

/**
 * What must never happen on a page: a Content-Security-Policy violation, a console error, a dialog, a
 * request to a host outside `origins`. Listens in every frame of the context.
 */
export class PageWatch {
  readonly problems: string[] = [];

  private constructor(private readonly origins: string[]) {}

  static async on(context: BrowserContext, origins: string[]): Promise<PageWatch> {
    const watch = new PageWatch(origins);
    await context.exposeBinding('__chatboxTestReport', (_source, text: string) => watch.problems.push(text));
    // Runs in every frame before its own scripts (a string: this file is compiled without the DOM's types).
    await context.addInitScript(`document.addEventListener('securitypolicyviolation', (e) =>
      window.__chatboxTestReport('CSP violation on ' + location.href + ': ' + e.violatedDirective + ' blocked ' + e.blockedURI));`);
    context.on('request', (request) => {
      const url = new URL(request.url());
      if (!['data:', 'blob:', 'about:'].includes(url.protocol) && !watch.origins.includes(url.origin)) {
        watch.problems.push(`request to a foreign host: ${request.url()}`);
      }
    });
    context.on('page', (page) => watch.page(page));
    return watch;
  }

  private page(page: Page): void {
    page.on('console', (message) => {
      if (message.type() === 'error') watch(this, `console error on ${message.location().url}: ${message.text()}`);
    });
    page.on('pageerror', (error) => watch(this, `uncaught error: ${error.message}`));
    page.on('dialog', (dialog) => {
      watch(this, `dialog opened: ${dialog.message()}`);
      void dialog.dismiss();
    });
  }
}

const watch = (target: PageWatch, problem: string) => target.problems.push(problem);

/** Where screenshots go for review: test-results/ at the project's root. */
export function screenshotPath(name: string): string {
  const dir = path.join(PROJECT_ROOT, 'test-results');
  mkdirSync(dir, { recursive: true });
  return path.join(dir, `${name}.png`);
}
