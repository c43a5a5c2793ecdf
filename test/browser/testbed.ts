import { randomUUID } from 'node:crypto';
import { Browser, BrowserContext, FrameLocator, Page } from 'playwright-core';
import { FakeLlmServer } from '../servers/fake-llm-server';
import { Claims, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { launchBrowser, PageWatch } from './browser';
import { hostPage, HostSite } from './host-pages';

export interface OpenOptions {
  /** 1280×800 unless told. */
  viewport?: { width: number; height: number };
  /** Granted to the context from the start (as `grantPermissions` for every origin). */
  permissions?: string[];
  /** Each token's lifetime ('1h' unless told), or a function of how many tokens the page was given before. */
  expiresIn?: string | ((issued: number) => string);
  /** The host page's options (see `hostPage`). */
  lang?: string;
  beforeAnswer?: string;
  /** Origins the page may reach besides the app's and the host's. */
  alsoAllow?: string[];
}

/** A browser context with the problem watch, its tab on a fresh host page, and the chat's frame in that page. */
export interface Opened {
  context: BrowserContext;
  watch: PageWatch;
  tab: Page;
  frame: FrameLocator;
}

export interface BrowserTestbed {
  readonly fake: FakeLlmServer;
  /** The host site: the app's ALLOWED_PARENT_ORIGINS is for `env` to set, normally to `host.origin`. */
  readonly host: HostSite;
  /** The app, from the testbed's beforeAll on. */
  readonly t: TestApp;
  /** Chromium, from the testbed's beforeAll on. */
  readonly browser: Browser;
  /**
   * A new browser context on a new host page that mounts `page` and answers each token request with a
   * token of `claims` (or of what it gives for how many tokens the page was given before), signed with the
   * app's secret; PageWatch listens from before the page loads.
   */
  open: (
    page: 'chat' | 'admin',
    claims: Claims | ((issued: number) => Claims),
    options?: OpenOptions,
  ) => Promise<Opened>;
}

/**
 * What a browser spec runs against: a fake LLM server, a host site (and `otherSites`), the app started with
 * `env(fake, host)` once they listen, and Chromium (with fake media devices if `fakeMedia`). Registers the
 * beforeAll that starts them and the afterAll that closes them in the describe it is called in.
 */
export function browserTestbed(
  env: (fake: FakeLlmServer, host: HostSite) => Record<string, string | undefined>,
  { fakeMedia = false, otherSites = [] }: { fakeMedia?: boolean; otherSites?: HostSite[] } = {},
): BrowserTestbed {
  const fake = new FakeLlmServer();
  const host = new HostSite();
  const sites = [host, ...otherSites];
  let app: TestApp | undefined;
  let chromium: Browser | undefined;

  beforeAll(async () => {
    await Promise.all([fake.start(), ...sites.map((site) => site.start())]);
    app = await startTestApp(env(fake, host));
    chromium = await launchBrowser({ fakeMedia });
  });

  afterAll(async () => {
    // The turn engine's and the socket handlers' warnings, on the run's output: they explain a reply that never came.
    const told = (app?.logs.lines ?? []).filter(
      (l) => Number(l.level) >= 40 && ['TurnEngine', 'AckInterceptor'].includes(String(l.context)),
    );
    if (told.length > 0) {
      const lines = told.slice(-30).map((l) => JSON.stringify(l).slice(0, 600));
      process.stdout.write(
        `\n${expect.getState().testPath}: the app's turn and handler warnings\n${lines.join('\n')}\n`,
      );
    }
    await chromium?.close();
    await app?.close();
    await Promise.all([fake.stop(), ...sites.map((site) => site.stop())]);
  });

  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) {
      throw new Error(`${what} starts in the testbed's beforeAll: read it in a test or a later hook`);
    }
    return value;
  };

  const bed: BrowserTestbed = {
    fake,
    host,
    get t() {
      return started(app, 'The app');
    },
    get browser() {
      return started(chromium, 'The browser');
    },
    open: async (page, claims, options = {}) => {
      const { viewport = { width: 1280, height: 800 }, permissions, expiresIn = '1h', alsoAllow = [] } = options;
      const t = bed.t;
      const context = await bed.browser.newContext({ viewport, permissions });
      const watch = await PageWatch.on(context, [t.baseUrl, host.origin, ...alsoAllow]);
      let issued = 0;
      await context.exposeFunction('issueToken', () => {
        const before = issued++;
        return signToken(
          t.env.JWT_SECRET,
          typeof claims === 'function' ? claims(before) : claims,
          typeof expiresIn === 'string' ? expiresIn : expiresIn(before),
        );
      });
      const tab = await context.newPage();
      await tab.goto(
        host.serve(
          `/host-${randomUUID()}`,
          hostPage(t.baseUrl, { page, lang: options.lang, beforeAnswer: options.beforeAnswer }),
        ),
      );
      return { context, watch, tab, frame: tab.frameLocator('iframe.chatbox-frame') };
    },
  };
  return bed;
}
