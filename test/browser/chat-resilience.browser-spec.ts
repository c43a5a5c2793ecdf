import { randomUUID } from 'node:crypto';
import type { Namespace } from 'socket.io';
import { ChatGateway } from '../../src/gateway/chat.gateway';
import { MessageRouter } from '../../src/router/message-router.service';
import { fakeModel } from '../servers/fake-llm-server';
import { AdminClient } from '../utils/admin-client';
import { ChatClient, signToken } from '../utils/chat-client';
import { waitFor } from '../utils/wait-for';
import { screenshotPath } from './browser';
import { hostPage } from './host-pages';
import { browserTestbed } from './testbed';

describe('the chat page when the network drops, with a long history, and by keyboard alone', () => {
  const bed = browserTestbed((fake, host) => ({
    NODE_ENV: 'production',
    LLM_MODELS: JSON.stringify([fakeModel(fake)]),
    ALLOWED_PARENT_ORIGINS: host.origin,
    RATE_LIMIT_EVENTS: '1000',
  }));
  const { fake } = bed;

  /** Cuts every /chat connection's transport, as a network drop does (the clients reconnect on their own). */
  function dropConnections() {
    const gateway: unknown = bed.t.app.get(ChatGateway);
    const { namespace } = gateway as { namespace: Namespace };
    for (const socket of namespace.sockets.values()) socket.conn.close();
  }

  it('catches up after a dropped connection: the reply that ended meanwhile shows once, stored; the state is announced from a live region of its own', async () => {
    let release!: () => void;
    fake.script('openai', {
      kind: 'gated',
      parts: ['Half of it, ', 'and the rest that ended while the page was offline.'],
      gates: [new Promise<void>((resolve) => (release = resolve))],
    });
    const userId = `user-${randomUUID()}`;
    const { context, watch, frame: chat } = await bed.open('chat', { sub: userId, name: 'Ada' });
    await chat.getByLabel('Your message').fill('Tell me');
    await chat.getByLabel('Your message').press('Enter');
    await chat.locator('.msg-streaming', { hasText: 'Half of it' }).waitFor();

    dropConnections();
    await chat.locator('.conn-offline').waitFor();
    release();
    await chat.locator('.conn-online').waitFor();
    // Screen readers hear the state once it holds, from a live region of its own; the pill is not one.
    await chat.getByTestId('connection-announced').filter({ hasText: 'Connected' }).waitFor();
    expect(await chat.locator('.conn[role="status"], .conn[aria-live]').count()).toBe(0);
    const whole = 'Half of it, and the rest that ended while the page was offline.';
    await chat.locator('.msg-ai:not(.msg-streaming)', { hasText: whole }).waitFor();
    expect(await chat.locator('.msg-ai').count()).toBe(1);
    expect(await chat.locator('.msg-user').count()).toBe(1);
    await context.close();
    expect(watch.problems).toEqual([]);
  });

  it("starts one session for a first message when the session start's answer is lost in a dropped connection", async () => {
    fake.script('openai', { kind: 'ok', text: 'One conversation only.' });
    const router = bed.t.app.get(MessageRouter);
    const start = router.startSession.bind(router);
    let dropped = 0;
    // The server starts the session, then the connection drops before its answer leaves.
    router.startSession = async (...args) => {
      const view = await start(...args);
      if (dropped++ === 0) dropConnections();
      return view;
    };
    try {
      const userId = `user-${randomUUID()}`;
      const { context, watch, frame: chat } = await bed.open('chat', { sub: userId, name: 'Ada' });
      await chat.locator('.conn-online').waitFor();
      await chat.getByLabel('Your message').fill('Hello, once');
      await chat.getByLabel('Your message').press('Enter');
      await chat.locator('.msg-ai:not(.msg-streaming)', { hasText: 'One conversation only.' }).waitFor();
      expect(dropped).toBe(1);
      const token = await signToken(bed.t.env.JWT_SECRET, { sub: userId });
      const res = await fetch(`${bed.t.baseUrl}/chatbox/sessions`, { headers: { authorization: `Bearer ${token}` } });
      const { sessions } = (await res.json()) as { sessions: { status: string; messageCount: number }[] };
      expect(sessions).toEqual([expect.objectContaining({ status: 'active', messageCount: 2 })]);
      await context.close();
      expect(watch.problems).toEqual([]);
    } finally {
      router.startSession = start;
    }
  });

  it('shows the newest page of a long conversation and pages older messages in on scroll, each once', async () => {
    const userId = `user-${randomUUID()}`;
    // 230 messages, written while an administrator holds the session so that the AI answers none of them.
    const writer = await ChatClient.connect(bed.t.baseUrl, await signToken(bed.t.env.JWT_SECRET, { sub: userId }));
    const { sessionId } = await writer.ok<{ sessionId: string }>('session:start', {});
    const admin = new AdminClient(
      bed.t.baseUrl,
      await signToken(bed.t.env.JWT_SECRET, { sub: 'admin-1', name: 'Grace', roles: ['admin'] }),
    );
    await admin.connected();
    await admin.ok('admin:join', { sessionId });
    for (let i = 1; i <= 230; i += 1) {
      await writer.ok('message:send', { sessionId, clientMessageId: `m${i}`, content: `Message number ${i}` });
    }
    writer.close();
    admin.socket.disconnect();

    const { context, watch, frame: chat } = await bed.open('chat', { sub: userId, name: 'Ada' });
    await chat.locator('.msg-user', { hasText: 'Message number 230' }).waitFor();
    const texts = () => chat.locator('.msg-user .msg-text').allTextContents();
    expect(await texts()).not.toContain('Message number 1');
    // The reader scrolls up, again and again, as each older page comes in.
    await waitFor(
      async () => {
        await chat.locator('.log-wrap').evaluate((el: { scrollTop: number }) => {
          el.scrollTop = 0;
        });
        return (await texts()).length === 230;
      },
      { what: 'every message on the page', timeoutMs: 20000, intervalMs: 200 },
    );
    expect(await texts()).toEqual(Array.from({ length: 230 }, (_, i) => `Message number ${i + 1}`));
    // A message arriving while the reader is up in the history shows at the bottom without moving them.
    const scrollTop = () => chat.locator('.log-wrap').evaluate((el: { scrollTop: number }) => el.scrollTop);
    const before = await scrollTop();
    const device = await ChatClient.connect(bed.t.baseUrl, await signToken(bed.t.env.JWT_SECRET, { sub: userId }));
    await device.ok('message:send', { sessionId, clientMessageId: 'm231', content: 'Message number 231' });
    device.close();
    await chat.locator('.msg-user', { hasText: 'Message number 231' }).waitFor({ state: 'attached' });
    expect(Math.abs((await scrollTop()) - before)).toBeLessThan(5);
    await context.close();
    expect(watch.problems).toEqual([]);
  });

  it('is usable by keyboard alone, with a visible focus, and fits a 360 px screen', async () => {
    fake.script('openai', { kind: 'ok', text: 'Answered by keyboard.' });
    const {
      context,
      watch,
      tab: page,
      frame: chat,
    } = await bed.open('chat', { sub: `user-${randomUUID()}`, name: 'Ada' }, { viewport: { width: 360, height: 740 } });
    await chat.locator('.conn-online').waitFor();
    // Tab from the host page into the frame and along its controls until the message field has the focus.
    const focused = () =>
      chat
        .locator('body')
        .evaluate((body: { ownerDocument: { activeElement: { id: string; textContent: string } | null } }) => {
          const active = body.ownerDocument.activeElement;
          return active ? active.id || active.textContent : '';
        });
    for (let i = 0; i < 12 && (await focused()) !== 'composer-input'; i += 1) await page.keyboard.press('Tab');
    expect(await focused()).toBe('composer-input');
    const outline = await chat
      .locator('#composer-input')
      .evaluate(
        (el: { ownerDocument: { defaultView: { getComputedStyle: (e: unknown) => { outlineStyle: string } } } }) =>
          el.ownerDocument.defaultView.getComputedStyle(el).outlineStyle,
      );
    expect(outline).not.toBe('none');
    await page.keyboard.type('Hello by keyboard');
    await page.keyboard.press('Enter');
    await chat.locator('.msg-ai:not(.msg-streaming)', { hasText: 'Answered by keyboard.' }).waitFor();
    // Tab on to the "Talk to a person" button and press it.
    for (let i = 0; i < 12 && (await focused()) !== 'Talk to a person'; i += 1) await page.keyboard.press('Tab');
    expect(await focused()).toBe('Talk to a person');
    await page.keyboard.press('Enter');
    await chat.getByTestId('help-state').waitFor();
    const overflow = await chat
      .locator('html')
      .evaluate((el: { scrollWidth: number; clientWidth: number }) => el.scrollWidth - el.clientWidth);
    expect(overflow).toBe(0);
    await page.screenshot({ path: screenshotPath('chat-keyboard-phone') });
    await context.close();
    expect(watch.problems).toEqual([]);
  });
});

describe('the chat page when the server keeps refusing, and while reading an ended conversation', () => {
  const bed = browserTestbed((fake, host) => ({
    LLM_MODELS: JSON.stringify([fakeModel(fake)]),
    ALLOWED_PARENT_ORIGINS: host.origin,
    TURN_QUEUE_LIMIT: '1',
  }));
  const { fake, host } = bed;

  it('tells the user when the server stays busy, after a few tries, and gives the unsent words back', async () => {
    fake.script(
      'openai',
      { kind: 'endless', intervalMs: 50 },
      { kind: 'ok', text: 'The second, answered.' },
      { kind: 'ok', text: 'The third, answered.' },
    );
    const { context, watch, tab: page, frame: chat } = await bed.open('chat', { sub: `user-${randomUUID()}` });
    // The clientMessageId of every try of the third message, read off the socket's frames.
    const tries: string[] = [];
    page.on('websocket', (socket) =>
      socket.on('framesent', ({ payload }) => {
        const frame = /^42\/chat,\d*\["message:send",(.*)\]$/.exec(String(payload));
        const sent = frame ? (JSON.parse(frame[1]) as { content: string; clientMessageId: string }) : undefined;
        if (sent?.content === 'Third, one too many') tries.push(sent.clientMessageId);
      }),
    );
    const say = async (text: string) => {
      await chat.getByLabel('Your message').fill(text);
      await chat.getByLabel('Your message').press('Enter');
    };
    await say('First, answered forever');
    await chat.locator('.msg-streaming').waitFor();
    await say('Second, waits in the queue');
    await chat.locator('.msg-user:not(.msg-pending)', { hasText: 'Second' }).waitFor();
    await say('Third, one too many');
    // Typed while the third is being retried: kept, after the words that come back.
    await chat.getByLabel('Your message').fill('and a fourth thought');
    await chat
      .getByTestId('error')
      .filter({ hasText: 'Busy right now. Try again in a moment.' })
      .waitFor({ timeout: 20000 });
    expect(await chat.locator('.msg-pending').count()).toBe(0);
    expect(await chat.getByLabel('Your message').inputValue()).toBe('Third, one too many\nand a fourth thought');
    // Sent again unchanged once the reply is stopped: the same clientMessageId, so a try stored after all
    // (its answer lost) would not be stored twice.
    await chat.getByRole('button', { name: 'Stop' }).click();
    await chat.locator('.msg-ai:not(.msg-streaming)', { hasText: 'The second, answered.' }).waitFor();
    await say('Third, one too many');
    await chat.locator('.msg-user:not(.msg-pending)', { hasText: 'Third, one too many' }).waitFor();
    expect(tries.length).toBeGreaterThan(1);
    expect(new Set(tries).size).toBe(1);
    await chat.locator('.msg-ai:not(.msg-streaming)', { hasText: 'The third, answered.' }).waitFor();
    await context.close();
    // The refused sends are answered 409 busy, which the browser does not log: nothing else may appear.
    expect(watch.problems).toEqual([]);
  });

  it('stays on an ended conversation the user opened while another device starts a new one', async () => {
    fake.script('openai', { kind: 'ok', text: 'An old answer.' });
    const userId = `user-${randomUUID()}`;
    const other = await ChatClient.connect(bed.t.baseUrl, await signToken(bed.t.env.JWT_SECRET, { sub: userId }));
    const { sessionId } = await other.ok<{ sessionId: string }>('session:start', {});
    await other.ok('message:send', { sessionId, clientMessageId: 'c1', content: 'An old question' });
    await other.waitForEvent('ai:end');
    await other.ok('session:end', { sessionId });

    const context = await bed.browser.newContext();
    await context.exposeFunction('issueToken', () => signToken(bed.t.env.JWT_SECRET, { sub: userId }));
    const page = await context.newPage();
    await page.goto(host.serve(`/host-${randomUUID()}`, hostPage(bed.t.baseUrl)));
    const chat = page.frameLocator('iframe.chatbox-frame');
    await chat.getByRole('link', { name: 'My conversations' }).click();
    await chat.getByRole('link', { name: 'Open' }).click();
    await chat.getByText('This conversation has ended.').waitFor();
    await chat.locator('.conn-online').waitFor();

    const fresh = await other.ok<{ sessionId: string }>('session:start', {});
    await other.ok('message:send', { sessionId: fresh.sessionId, clientMessageId: 'c2', content: 'A new question' });
    await other.waitForEvent('ai:end', (e) => e.sessionId === fresh.sessionId);
    // The page would have followed by now had it listened: the new session's state reached it long before.
    expect(await chat.locator('.msg-user').allTextContents()).toEqual([expect.stringContaining('An old question')]);
    await chat.getByText('This conversation has ended.').waitFor();
    other.close();
    await context.close();
  });
});
