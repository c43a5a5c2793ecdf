import { request } from 'node:http';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';

/** The `#chatbox-config` JSON a page carries. */
const pageConfig = (html: string) =>
  JSON.parse(/<script type="application\/json" id="chatbox-config">(.*?)<\/script>/s.exec(html)![1]) as Record<
    string,
    unknown
  >;

/** A GET whose path and headers go out exactly as given. */
function rawStatus(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    request({ hostname, port, path, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

describe('the pages as HTTP answers', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      NODE_ENV: 'production',
      ALLOWED_PARENT_ORIGINS: 'https://host.example',
      LINK_ALLOWED_HOSTS: 'docs.example.com',
    });
  });
  afterAll(() => t.close());

  it('serves the chat page uncached, with a strict policy and framing only by the allowed origins', async () => {
    for (const path of ['/chatbox', '/chatbox/']) {
      const res = await fetch(`${t.baseUrl}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-store');
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      // Message files are shown from blob: URLs of bytes fetched with the token; nothing else is added.
      expect(csp).toContain("img-src 'self' data: blob:;");
      expect(csp).toContain("media-src 'self' blob:;");
      expect(csp).not.toContain('upgrade-insecure-requests');
      expect(csp).toContain('frame-ancestors https://host.example;');
      const html = await res.text();
      expect(html).not.toMatch(/<script(?![^>]*(?:src=|type="application\/json"))/);
      expect(html).not.toMatch(/ on[a-z]+=|style=/);
      expect(pageConfig(html)).toEqual({
        page: 'chat',
        prefix: '/chatbox',
        lang: 'en',
        parentOrigins: ['https://host.example'],
        modelLinkHosts: ['docs.example.com'],
        selfParent: false,
      });
    }
  });

  it('serves the bundles by content hash, cached for a year, and 404 for any other asset', async () => {
    const html = await (await fetch(`${t.baseUrl}/chatbox/`)).text();
    const assets = [...html.matchAll(/(?:src|href)="(\/chatbox\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets).toEqual([
      expect.stringMatching(/\/chat-[A-Z0-9]{8}\.css$/),
      expect.stringMatching(/\/chat-[A-Z0-9]{8}\.js$/),
    ]);
    for (const asset of assets) {
      const res = await fetch(`${t.baseUrl}${asset}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect((await fetch(`${t.baseUrl}/chatbox/assets/chat-XXXXXXXX.js`)).status).toBe(404);
    // Sent as written (fetch would resolve the dots before sending).
    for (const path of [
      '/chatbox/assets/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/chatbox/assets/..%2f..%2f..%2fpackage.json',
    ]) {
      expect([403, 404]).toContain(await rawStatus(t.baseUrl, path));
    }
  });

  it('serves the loader at a fixed address that host pages on other origins may load', async () => {
    const res = await fetch(`${t.baseUrl}/chatbox/embed.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(await res.text()).toContain('chatbox:token');
  });

  it('picks the language from ?lang, then Accept-Language, else English', async () => {
    const lang = async (query: string, accept?: string) =>
      pageConfig(
        await (
          await fetch(`${t.baseUrl}/chatbox/${query}`, { headers: accept ? { 'accept-language': accept } : {} })
        ).text(),
      ).lang;
    expect(await lang('', 'fr-CA,fr;q=0.9,en;q=0.5')).toBe('fr');
    expect(await lang('?lang=en', 'fr')).toBe('en');
    expect(await lang('?lang=xx', 'de')).toBe('en');
  });

  it('has no development host page outside development', async () => {
    expect((await fetch(`${t.baseUrl}/chatbox/dev/host`)).status).toBe(404);
  });

  it("accepts its own page's socket with CORS_ORIGINS unset in production, and refuses other browser origins", async () => {
    const token = await signToken(t.env.JWT_SECRET);
    const attempt = async (origin: string) => {
      const client = new ChatClient(t.baseUrl, { token }, { headers: { origin } });
      try {
        await client.connected();
        return 'accepted';
      } catch {
        return 'refused';
      } finally {
        client.close();
      }
    };
    const port = new URL(t.baseUrl).port;
    expect(await attempt(t.baseUrl)).toBe('accepted');
    expect(await attempt(`http://127.0.0.1:${Number(port) + 1}`)).toBe('refused');
    expect(await attempt('https://host.example')).toBe('refused');
    expect(await attempt('null')).toBe('refused');
  });
});

describe('the development host page', () => {
  it('frames the chat signed in as the development user, on the app’s own origin only in development', async () => {
    const t = await startTestApp({ NODE_ENV: 'development' });
    try {
      const res = await fetch(`${t.baseUrl}/chatbox/dev/host`);
      expect(res.status).toBe(200);
      const config = pageConfig(await res.text());
      expect(config).toMatchObject({ page: 'dev-host', selfParent: true });
      const { user } = config.devTokens as { user: string };
      expect(JSON.parse(Buffer.from(user.split('.')[1], 'base64url').toString())).toMatchObject({ sub: 'dev-user' });
      const chat = await fetch(`${t.baseUrl}/chatbox/`);
      expect(chat.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
      expect(pageConfig(await chat.text())).not.toHaveProperty('devTokens');
      // Only for a browser on this machine: not another site's script, not a DNS name rebound to loopback.
      const port = new URL(t.baseUrl).port;
      expect(await rawStatus(t.baseUrl, '/chatbox/dev/host', { origin: t.baseUrl })).toBe(200);
      expect(await rawStatus(t.baseUrl, '/chatbox/dev/host', { host: `localhost:${port}` })).toBe(200);
      expect(await rawStatus(t.baseUrl, '/chatbox/dev/host', { origin: 'https://evil.example' })).toBe(404);
      expect(await rawStatus(t.baseUrl, '/chatbox/dev/host', { host: `rebind.evil.example:${port}` })).toBe(404);
      // Nor a remote client through a proxy on this machine, which passes on the Host it chose.
      for (const header of ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip', 'via']) {
        const proxied = { host: `localhost:${port}`, [header]: header === 'via' ? '1.1 nginx' : '203.0.113.9' };
        expect(await rawStatus(t.baseUrl, '/chatbox/dev/host', proxied)).toBe(404);
      }
    } finally {
      await t.close();
    }
  });
});
