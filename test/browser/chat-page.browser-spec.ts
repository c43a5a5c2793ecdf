import { randomUUID } from 'node:crypto';
import { BrowserContext, FrameLocator } from 'playwright-core';
import { fakeModel } from '../servers/fake-llm-server';
import { AdminClient } from '../utils/admin-client';
import { signToken } from '../utils/chat-client';
import { startTestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';
import { launchBrowser, PageWatch, screenshotPath } from './browser';
import { hostPage, HostSite } from './host-pages';
import { browserTestbed } from './testbed';

interface StoredMessage {
  id: string;
  seq: number;
  sender: string;
  content: string;
  status: string;
  finishReason?: string;
}

describe('the chat page, embedded in a host page, against the real server', () => {
  const stranger = new HostSite();
  // Production, with CORS_ORIGINS unset: the page's socket is same-origin, which the default allows.
  const bed = browserTestbed(
    (fake, host) => ({
      NODE_ENV: 'production',
      LLM_MODELS: JSON.stringify([fakeModel(fake)]),
      ALLOWED_PARENT_ORIGINS: host.origin,
      AUTH_EXPIRY_WARNING_S: '5',
      LINK_ALLOWED_HOSTS: 'docs.example.com',
      JWT_CLOCK_SKEW_S: '0',
    }),
    { otherSites: [stranger] },
  );
  const { fake, host } = bed;

  /** A browser context with the problem watch, and a host page whose user is `userId` (its first token lasting `expiresIn`). */
  async function openHost(
    userId: string,
    options: { expiresIn?: string; viewport?: { width: number; height: number } } = {},
  ) {
    const { context, watch, tab, frame } = await bed.open(
      'chat',
      { sub: userId, name: 'Ada' },
      {
        viewport: options.viewport,
        expiresIn: (issued) => (issued === 0 ? (options.expiresIn ?? '1h') : '1h'),
        alsoAllow: [stranger.origin],
      },
    );
    return { context, page: tab, chat: frame, watch };
  }

  async function userToken(userId: string) {
    return signToken(bed.t.env.JWT_SECRET, { sub: userId });
  }

  async function api<T>(path: string, token: string): Promise<T> {
    const response = await fetch(`${bed.t.baseUrl}/chatbox${path}`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return (await response.json()) as T;
  }

  async function storedMessages(userId: string): Promise<StoredMessage[]> {
    const token = await userToken(userId);
    const { sessions } = await api<{ sessions: { id: string }[] }>('/sessions?limit=1', token);
    if (sessions.length === 0) return [];
    return (await api<{ messages: StoredMessage[] }>(`/sessions/${sessions[0].id}/messages`, token)).messages;
  }

  async function send(chat: FrameLocator, text: string) {
    await chat.getByLabel('Your message').fill(text);
    await chat.getByLabel('Your message').press('Enter');
  }

  async function close(context: BrowserContext, watch: PageWatch) {
    await context.close();
    expect(watch.problems).toEqual([]);
  }

  it('streams a reply; after a reload mid-stream it keeps streaming, shows every message once, and completes', async () => {
    const releases: (() => void)[] = [];
    const gates = [0, 1].map(() => new Promise<void>((resolve) => releases.push(resolve)));
    fake.script('openai', {
      kind: 'gated',
      parts: ['The first part of the answer, ', 'then a second part streamed after the reload, ', 'and the end.'],
      gates,
    });
    const userId = `user-${randomUUID()}`;
    const { context, page, chat, watch } = await openHost(userId);

    await send(chat, 'Hello there');
    await chat.locator('.msg-streaming', { hasText: 'The first part of the answer' }).waitFor();
    // One model: nothing to choose (the bar, drawn with the picker, is there).
    await chat.getByRole('button', { name: 'New chat' }).waitFor();
    expect(await chat.getByLabel('Model').count()).toBe(0);
    await page.screenshot({ path: screenshotPath('chat-streaming-desktop') });

    await page.reload();
    const again = page.frameLocator('iframe.chatbox-frame');
    // After the reload the page resumes: the stored question and the reply so far, from the server.
    await again.locator('.msg-streaming', { hasText: 'The first part of the answer' }).waitFor();
    await again.locator('.msg-user', { hasText: 'Hello there' }).waitFor();
    // Frames sent after the resume grow the same bubble, before the reply ends.
    releases[0]();
    await again.locator('.msg-streaming', { hasText: 'then a second part streamed after the reload' }).waitFor();
    releases[1]();

    const whole = 'The first part of the answer, then a second part streamed after the reload, and the end.';
    await again.locator('.msg-ai:not(.msg-streaming)').filter({ hasText: whole }).waitFor();
    expect(await again.locator('.msg-user').allTextContents()).toHaveLength(1);
    expect(await again.locator('.msg-ai').count()).toBe(1);
    expect(await again.locator('.msg-streaming').count()).toBe(0);
    const stored = await storedMessages(userId);
    expect(stored.map((m) => [m.sender, m.content])).toEqual([
      ['user', 'Hello there'],
      ['ai', whole],
    ]);
    expect(await page.evaluate<string[]>('window.tokenRequests')).toEqual(['initial']);
    await page.screenshot({ path: screenshotPath('chat-desktop') });
    await close(context, watch);
  });

  it('stops a reply with the stop button; the stored reply says it was stopped', async () => {
    fake.script('openai', { kind: 'endless', intervalMs: 20 });
    const userId = `user-${randomUUID()}`;
    const { context, chat, watch } = await openHost(userId);
    await send(chat, 'Count forever');
    await chat.locator('.msg-streaming', { hasText: 'more' }).waitFor();
    await chat.getByRole('button', { name: 'Stop' }).click();
    await chat.locator('.msg-ai:not(.msg-streaming)', { hasText: 'Stopped' }).waitFor();
    await chat.getByRole('button', { name: 'Send' }).waitFor();
    const stored = await storedMessages(userId);
    expect(stored.map((m) => [m.sender, m.status])).toEqual([
      ['user', 'complete'],
      ['ai', 'stopped'],
    ]);
    await close(context, watch);
  });

  it('asks for help, shows an administrator taking over and their messages, and the AI again after the release', async () => {
    fake.script(
      'openai',
      { kind: 'ok', text: 'An answer from the model.' },
      { kind: 'ok', text: 'The model is back.' },
    );
    const userId = `user-${randomUUID()}`;
    const { context, page, chat, watch } = await openHost(userId, { viewport: { width: 360, height: 740 } });
    await send(chat, 'I need a person');
    await chat.locator('.msg-ai:not(.msg-streaming)', { hasText: 'An answer from the model.' }).waitFor();
    await chat.getByRole('button', { name: 'Talk to a person' }).click();
    await chat.getByTestId('help-state').waitFor();
    await page.screenshot({ path: screenshotPath('chat-help-phone') });

    const { sessions } = await api<{ sessions: { id: string; help: unknown }[] }>(
      '/sessions?limit=1',
      await userToken(userId),
    );
    expect(sessions[0].help).not.toBeNull();
    const admin = new AdminClient(
      bed.t.baseUrl,
      await signToken(bed.t.env.JWT_SECRET, { sub: 'admin-1', name: 'Grace', roles: ['admin'] }),
    );
    try {
      await admin.connected();
      expect((await admin.call('admin:join', { sessionId: sessions[0].id })).ok).toBe(true);
      await chat.getByTestId('admin-banner').filter({ hasText: 'Grace joined the conversation.' }).waitFor();
      await chat.getByTestId('with-admin').filter({ hasText: 'With Grace' }).waitFor();
      expect(await chat.getByTestId('help-state').count()).toBe(0);
      const said = await admin.call('admin:message', {
        sessionId: sessions[0].id,
        clientMessageId: 'a1',
        content: 'Hello, I am Grace.',
      });
      expect(said.ok).toBe(true);
      await chat.locator('.msg-admin', { hasText: 'Hello, I am Grace.' }).waitFor();
      await page.screenshot({ path: screenshotPath('chat-takeover-phone') });

      expect((await admin.call('admin:leave', { sessionId: sessions[0].id })).ok).toBe(true);
      await chat.getByTestId('admin-banner').filter({ hasText: 'Grace left' }).waitFor();
      await send(chat, 'Are you back?');
      await chat.locator('.msg-ai:not(.msg-streaming)', { hasText: 'The model is back.' }).waitFor();
    } finally {
      admin.socket.disconnect();
    }
    await close(context, watch);
  });

  it('shows markup in messages and replies as text: no script runs, no image loads, no link but to an allowed host', async () => {
    fake.script('openai', {
      kind: 'ok',
      text:
        'Reply <img src=x onerror=alert(1)> then [a link](javascript:alert(2)) and ![pic](https://203.0.113.9/p.png) ' +
        '[the guide](https://docs.example.com/guide), [lookalike](https://docs.example.com.evil.example/), ' +
        '[plain http](http://docs.example.com/x), https://docs.example.com/auto **bold**',
    });
    const userId = `user-${randomUUID()}`;
    const { context, chat, watch } = await openHost(userId);
    await send(chat, '<img src=x onerror=alert(1)> and [click](javascript:alert(3))');
    const reply = chat.locator('.msg-ai:not(.msg-streaming)');
    await reply.filter({ hasText: 'bold' }).waitFor();
    await expectInert(chat);
    expect(await chat.locator('.msg-user .msg-text').textContent()).toBe(
      '<img src=x onerror=alert(1)> and [click](javascript:alert(3))',
    );
    expect(await reply.locator('strong').textContent()).toBe('bold');
    expect(await reply.textContent()).toContain('<img src=x onerror=alert(1)>');
    // A model's words link only to https on LINK_ALLOWED_HOSTS; every other link shows as text.
    const hrefs = await reply
      .locator('a')
      .evaluateAll((anchors: { getAttribute(name: string): string | null }[]) =>
        anchors.map((a) => a.getAttribute('href')),
      );
    expect(hrefs.filter((href) => href !== null)).toEqual([
      'https://docs.example.com/guide',
      'https://docs.example.com/auto',
    ]);
    expect(await reply.textContent()).toContain('then a link and pic the guide, lookalike, plain http,');
    await close(context, watch);
  });

  async function expectInert(chat: FrameLocator) {
    expect(await chat.locator('.log img, .log script, .log [onerror], .log iframe').count()).toBe(0);
    const links = chat.locator('.log a');
    const hrefs: (string | null)[] = [];
    for (let i = 0; i < (await links.count()); i += 1) hrefs.push(await links.nth(i).getAttribute('href'));
    expect(hrefs.filter((href) => href !== null && !/^https?:/.test(href))).toEqual([]);
  }

  it('gets its token from the host and a fresh one before it expires, without reconnecting', async () => {
    fake.script('openai', { kind: 'ok', text: 'Still here.' });
    const userId = `user-${randomUUID()}`;
    const firstExpiresAt = Date.now() + 8000;
    const { context, page, chat, watch } = await openHost(userId, { expiresIn: '8s' });
    await chat.locator('.conn-online').waitFor();
    const requests = () => page.evaluate<string[]>('window.tokenRequests');
    await waitFor(async () => (await requests()).includes('expiring'), { what: 'the page to ask for a fresh token' });
    // Past the first token's expiry the socket is still signed in: the fresh token was swapped in place.
    await waitFor(() => Date.now() > firstExpiresAt + 1000, { what: 'the first token to expire', timeoutMs: 15000 });
    await send(chat, 'Are you still there?');
    await chat.locator('.msg-ai:not(.msg-streaming)', { hasText: 'Still here.' }).waitFor();
    expect(await requests()).toEqual(['initial', 'expiring']);
    await close(context, watch);
  });

  it("tells the user when the host's fresh token is refused, and signs in with the next one when the first expires", async () => {
    fake.script('openai', { kind: 'ok', text: 'Signed in again.' });
    const userId = `user-${randomUUID()}`;
    // The host answers the page's request for a fresh token with another user's token, which the server refuses.
    const {
      context,
      watch,
      tab,
      frame: chat,
    } = await bed.open(
      'chat',
      (issued) => ({ sub: issued === 1 ? `someone-else-${randomUUID()}` : userId, name: 'Ada' }),
      { expiresIn: (issued) => (issued === 0 ? '8s' : '1h') },
    );
    await chat.locator('.conn-online').waitFor();
    await chat.getByText('Your sign-in could not be renewed').waitFor({ timeout: 15000 });
    const requests = () => tab.evaluate<string[]>('window.tokenRequests');
    await waitFor(async () => (await requests()).includes('expired'), {
      what: 'the page to ask for a token when the first one expired',
      timeoutMs: 15000,
    });
    await send(chat, 'Is it still me?');
    await chat.locator('.msg-ai:not(.msg-streaming)', { hasText: 'Signed in again.' }).waitFor();
    expect(await requests()).toEqual(['initial', 'expiring', 'expired']);
    expect((await storedMessages(userId)).map((m) => m.content)).toEqual(['Is it still me?', 'Signed in again.']);
    await close(context, watch);
  });

  it('ignores a token posted by a frame of another origin, and posts nothing to it', async () => {
    const userId = `user-${randomUUID()}`;
    const mallory = `mallory-${randomUUID()}`;
    const evilToken = await signToken(bed.t.env.JWT_SECRET, { sub: mallory });
    const evilUrl = stranger.serve(
      '/evil',
      `<!doctype html><html><head><link rel="icon" href="data:,"></head><body><script>
        window.received = [];
        addEventListener('message', (e) => window.received.push(e.data));
        parent.frames[0].postMessage({ type: 'chatbox:token', token: ${JSON.stringify(evilToken)} }, '*');
        parent.postMessage('evil-done', '*');
      </script></body></html>`,
    );
    fake.script('openai', { kind: 'ok', text: 'Answer for the real user.' });
    // The host answers the chat's first token request only after the stranger's frame has posted its token.
    const beforeAnswer = `if (!window.evilDone) window.evilDone = new Promise((resolve) => {
        addEventListener('message', (e) => { if (e.data === 'evil-done') resolve(); });
        const frame = document.createElement('iframe');
        frame.src = ${JSON.stringify(evilUrl)};
        document.body.appendChild(frame);
      });
      await window.evilDone;`;
    const {
      context,
      watch,
      tab: page,
      frame: chat,
    } = await bed.open('chat', { sub: userId }, { beforeAnswer, alsoAllow: [stranger.origin] });
    await send(chat, 'Who am I?');
    await chat.locator('.msg-ai:not(.msg-streaming)', { hasText: 'Answer for the real user.' }).waitFor();
    expect((await storedMessages(userId)).map((m) => m.content)).toEqual(['Who am I?', 'Answer for the real user.']);
    expect(await storedMessages(mallory)).toEqual([]);
    const evilFrame = page.frames().find((frame) => frame.url() === evilUrl)!;
    expect(await evilFrame.evaluate<unknown[]>('window.received')).toEqual([]);
    await close(context, watch);
  });

  it('is not framed by an origin outside ALLOWED_PARENT_ORIGINS, which never gets asked for a token', async () => {
    const context = await bed.browser.newContext();
    await context.exposeFunction('issueToken', () => signToken(bed.t.env.JWT_SECRET, { sub: 'nobody' }));
    const page = await context.newPage();
    const blocked = new Promise<string>((resolve) =>
      page.on('console', (message) => {
        if (message.text().includes('frame-ancestors')) resolve(message.text());
      }),
    );
    await page.goto(stranger.serve(`/host-${randomUUID()}`, hostPage(bed.t.baseUrl)));
    expect(await blocked).toContain(`Framing '${bed.t.baseUrl}/' violates`);
    expect(await blocked).toContain(`frame-ancestors ${host.origin}`);
    expect(await page.evaluate<string[]>('window.tokenRequests')).toEqual([]);
    await context.close();
  });

  it('serves its strings in French when the host asks for it', async () => {
    const {
      context,
      watch,
      tab: page,
      frame: chat,
    } = await bed.open('chat', { sub: `user-${randomUUID()}` }, { lang: 'fr' });
    await chat.getByText('Connecté').waitFor();
    await chat.getByLabel('Votre message').waitFor();
    expect(await chat.locator('html').getAttribute('lang')).toBe('fr');
    await page.screenshot({ path: screenshotPath('chat-empty-fr') });
    await close(context, watch);
  });
});

describe('the development host page, in a browser', () => {
  it('signs the framed chat in as the development user, who chats with the demo model', async () => {
    const t = await startTestApp({ NODE_ENV: 'development' });
    const browser = await launchBrowser();
    try {
      const context = await browser.newContext();
      const watch = await PageWatch.on(context, [t.baseUrl]);
      const page = await context.newPage();
      await page.goto(`${t.baseUrl}/chatbox/dev/host`);
      const chat = page.frameLocator('iframe.chatbox-frame');
      await chat.getByLabel('Your message').fill('Hello, demo');
      await chat.getByLabel('Your message').press('Enter');
      await chat.locator('.msg-ai:not(.msg-streaming)').waitFor();
      const token = await signToken(t.env.JWT_SECRET, { sub: 'dev-user' });
      const res = await fetch(`${t.baseUrl}/chatbox/sessions?limit=1`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const { sessions } = (await res.json()) as { sessions: { name: string }[] };
      expect(sessions[0].name).toBe('Hello, demo');
      await page.screenshot({ path: screenshotPath('dev-host-desktop') });
      await page.setViewportSize({ width: 360, height: 740 });
      await page.screenshot({ path: screenshotPath('dev-host-phone') });
      await context.close();
      expect(watch.problems).toEqual([]);
    } finally {
      await browser.close();
      await t.close();
    }
  });
});
