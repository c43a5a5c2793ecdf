import { randomUUID } from 'node:crypto';
import { fakeModel } from '../servers/fake-llm-server';
import { AdminClient } from '../utils/admin-client';
import { signToken } from '../utils/chat-client';
import { waitFor } from '../utils/wait-for';
import { screenshotPath } from './browser';
import { browserTestbed } from './testbed';

describe('the sessions page and the shared view, against the real server', () => {
  const bed = browserTestbed((fake, host) => ({
    NODE_ENV: 'production',
    LLM_MODELS: JSON.stringify([fakeModel(fake)]),
    ALLOWED_PARENT_ORIGINS: host.origin,
  }));
  const { fake } = bed;

  it('lists my sessions, opens an ended one read-only, ends one, starts one, and shares one by a link that can be revoked', async () => {
    const userId = `user-${randomUUID()}`;
    const {
      context,
      watch,
      tab: page,
      frame,
    } = await bed.open(
      'chat',
      { sub: userId, name: 'Ada' },
      { viewport: { width: 1280, height: 900 }, permissions: ['clipboard-read', 'clipboard-write'] },
    );
    const say = async (text: string, reply: string) => {
      fake.script('openai', { kind: 'ok', text: reply });
      await frame.getByLabel('Your message').fill(text);
      await frame.getByLabel('Your message').press('Enter');
      await frame.locator('.msg-ai:not(.msg-streaming)', { hasText: reply }).waitFor();
    };

    await say('First conversation', 'First answer.');
    // An administrator helped in the first one: its card says so.
    const token = await signToken(bed.t.env.JWT_SECRET, { sub: userId });
    const mine = async () =>
      (
        (await (
          await fetch(`${bed.t.baseUrl}/chatbox/sessions`, { headers: { authorization: `Bearer ${token}` } })
        ).json()) as {
          sessions: { id: string; name: string; status: string }[];
        }
      ).sessions;
    const first = (await mine())[0];
    const admin = new AdminClient(
      bed.t.baseUrl,
      await signToken(bed.t.env.JWT_SECRET, { sub: 'admin-1', name: 'Grace', roles: ['admin'] }),
    );
    await admin.connected();
    expect((await admin.call('admin:join', { sessionId: first.id })).ok).toBe(true);
    expect((await admin.call('admin:leave', { sessionId: first.id })).ok).toBe(true);
    admin.socket.disconnect();
    await frame.getByRole('button', { name: 'New chat' }).click();
    await say('Second conversation', 'Second answer.');

    await frame.getByRole('link', { name: 'My conversations' }).click();
    const cards = frame.getByTestId('session');
    await cards.nth(1).waitFor();
    expect(await cards.count()).toBe(2);
    const firstCard = cards.filter({ hasText: 'First conversation' });
    const secondCard = cards.filter({ hasText: 'Second conversation' });
    expect(await firstCard.textContent()).toContain('Ended');
    expect(await firstCard.textContent()).toContain('Helped by a person');
    expect(await firstCard.textContent()).toMatch(/\d+ messages/);
    expect(await secondCard.textContent()).toContain('Active');
    expect(await secondCard.textContent()).not.toContain('Helped by a person');
    await page.screenshot({ path: screenshotPath('sessions-desktop') });
    await page.setViewportSize({ width: 360, height: 740 });
    await page.screenshot({ path: screenshotPath('sessions-phone') });
    await page.setViewportSize({ width: 1280, height: 900 });

    // Share the second conversation, copy its link, open it as anyone would, then revoke it.
    await secondCard.getByRole('button', { name: 'Share' }).click();
    await secondCard.getByRole('button', { name: 'Create a link' }).click();
    const link = await secondCard.getByTestId('share-link').inputValue();
    expect(link).toMatch(new RegExp(`^${bed.t.baseUrl}/chatbox/shared/`));
    await secondCard.getByRole('button', { name: 'Copy' }).click();
    await secondCard.getByRole('button', { name: 'Copied' }).waitFor();
    const viewer = await context.newPage();
    await viewer.goto(link);
    await viewer.locator('.msg-ai', { hasText: 'Second answer.' }).waitFor();
    expect(await viewer.locator('.msg-user').textContent()).toContain('Second conversation');
    await viewer.screenshot({ path: screenshotPath('shared-desktop') });
    await viewer.setViewportSize({ width: 360, height: 740 });
    await viewer.screenshot({ path: screenshotPath('shared-phone') });
    await secondCard.getByRole('button', { name: 'Revoke' }).click();
    await secondCard.getByTestId('share').filter({ hasText: 'Revoked' }).waitFor();
    await viewer.reload();
    await viewer.getByText('This link has expired or was revoked.').waitFor();

    // End the second conversation from its card.
    await secondCard.getByRole('button', { name: 'End', exact: true }).click();
    await secondCard.getByText('Ended').waitFor();
    expect((await mine()).map((s) => s.status)).toEqual(['ended', 'ended']);

    // Open the first: read-only, with its transcript.
    await firstCard.getByRole('link', { name: 'Open' }).click();
    await frame.locator('.msg-ai', { hasText: 'First answer.' }).waitFor();
    await frame.getByText('This conversation has ended.').waitFor();
    expect(await frame.getByLabel('Your message').count()).toBe(0);

    // New chat from the sessions page starts a session, once, even across a reload.
    await frame.getByRole('link', { name: 'My conversations' }).click();
    await frame.getByRole('link', { name: 'New chat' }).click();
    await frame.getByLabel('Your message').waitFor();
    const started = async () => (await mine()).filter((s) => s.status === 'active').length;
    await frame.locator('.conn-online').waitFor();
    await waitFor(async () => (await started()) === 1, { what: 'the new session' });
    await page.reload();
    await page.frameLocator('iframe.chatbox-frame').locator('.conn-online').waitFor();
    expect(await mine()).toHaveLength(3);
    expect(await started()).toBe(1);
    await say('Third conversation', 'Third answer.');
    expect((await mine()).map((s) => s.name)).toEqual([
      'Third conversation',
      'Second conversation',
      'First conversation',
    ]);

    await context.close();
    // The revoked link's read answers 404, which the browser reports in the console: that one is expected.
    const revoked = `console error on ${link}: Failed to load resource: the server responded with a status of 404 (Not Found)`;
    expect(watch.problems.filter((problem) => problem !== revoked)).toEqual([]);
  });

  it('serves the sessions page to browsers and the JSON list to API clients at the same address', async () => {
    const token = await signToken(bed.t.env.JWT_SECRET, { sub: `user-${randomUUID()}` });
    const json = await fetch(`${bed.t.baseUrl}/chatbox/sessions`, { headers: { authorization: `Bearer ${token}` } });
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    // Both answers say they depend on Accept, so no cache hands one to the other's client.
    expect(json.headers.get('vary')).toMatch(/\bAccept\b/);
    const html = await fetch(`${bed.t.baseUrl}/chatbox/sessions`, { headers: { accept: 'text/html,*/*;q=0.8' } });
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.headers.get('vary')).toMatch(/\bAccept\b/);
    const refused = await fetch(`${bed.t.baseUrl}/chatbox/sessions`, { headers: { accept: 'text/html;q=0, */*' } });
    expect(refused.status).toBe(401);
  });
});
