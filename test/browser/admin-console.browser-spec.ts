import { randomUUID } from 'node:crypto';
import { fakeModel } from '../servers/fake-llm-server';
import { waitFor } from '../utils/wait-for';
import { screenshotPath } from './browser';
import { hostPage } from './host-pages';
import { browserTestbed } from './testbed';

describe('the admin console and the chat page, in two browser contexts, against the real server', () => {
  const bed = browserTestbed((fake, host) => ({
    NODE_ENV: 'production',
    LLM_MODELS: JSON.stringify([fakeModel(fake)]),
    ALLOWED_PARENT_ORIGINS: host.origin,
  }));
  const { fake, host, open } = bed;

  it('shows a help request live, takes over, answers in the user’s page, hands back, and the AI answers again', async () => {
    const admin = await open('admin', { sub: 'admin-grace', name: 'Grace', roles: ['admin'] });
    await admin.frame.locator('.conn-online').waitFor();
    const user = await open('chat', { sub: `user-${randomUUID()}`, name: 'Ada Lovelace' });
    const say = async (text: string) => {
      await user.frame.getByLabel('Your message').fill(text);
      await user.frame.getByLabel('Your message').press('Enter');
    };

    fake.script('openai', { kind: 'ok', text: 'The model answers first.' });
    await say('I have a question');
    await user.frame.locator('.msg-ai:not(.msg-streaming)', { hasText: 'The model answers first.' }).waitFor();
    await user.frame.getByRole('button', { name: 'Talk to a person' }).click();

    // The admin's queue shows the request without a reload, its waiting time ticking.
    const item = admin.frame.getByTestId('queue-item').filter({ hasText: 'Ada Lovelace' });
    await item.getByTestId('help-badge').waitFor();
    const firstWait = await item.getByTestId('waiting').textContent();
    await waitFor(async () => (await item.getByTestId('waiting').textContent()) !== firstWait, {
      what: 'the waiting time to tick',
      timeoutMs: 5000,
    });
    await item.click();
    await admin.frame.locator('.msg-ai', { hasText: 'The model answers first.' }).waitFor();
    await admin.frame.getByText('Take the conversation over to answer.').waitFor();
    await admin.tab.screenshot({ path: screenshotPath('admin-queue-desktop') });

    await admin.frame.getByRole('button', { name: 'Take over' }).click();
    await admin.frame.getByTestId('owner').filter({ hasText: 'With Grace' }).waitFor();
    await user.frame.getByTestId('admin-banner').filter({ hasText: 'Grace joined the conversation.' }).waitFor();
    await item.getByTestId('help-badge').waitFor({ state: 'detached' });

    await admin.frame.getByLabel('Your answer').fill('Hello Ada, Grace here.');
    await admin.frame.getByLabel('Your answer').press('Enter');
    await user.frame.locator('.msg-admin', { hasText: 'Hello Ada, Grace here.' }).waitFor();
    await admin.frame.locator('.msg-admin', { hasText: 'Hello Ada, Grace here.' }).waitFor();
    await say('Thank you, Grace');
    await admin.frame.locator('.msg-user', { hasText: 'Thank you, Grace' }).waitFor();
    await admin.tab.screenshot({ path: screenshotPath('admin-takeover-desktop') });
    expect(fake.of('openai')).toHaveLength(1);

    await admin.frame.getByRole('button', { name: 'Hand back to the AI' }).click();
    await user.frame.getByTestId('admin-banner').filter({ hasText: 'Grace left' }).waitFor();
    fake.script('openai', { kind: 'ok', text: 'The model is back.' });
    await say('And now?');
    await user.frame.locator('.msg-ai:not(.msg-streaming)', { hasText: 'The model is back.' }).waitFor();
    await admin.frame.locator('.msg-ai:not(.msg-streaming)', { hasText: 'The model is back.' }).waitFor();
    expect(await user.frame.locator('.msg-admin').count()).toBe(1);

    await admin.frame.getByRole('button', { name: 'End conversation' }).click();
    await user.frame.getByText('This conversation has ended.').waitFor();
    await item.waitFor({ state: 'detached' });

    // Every conversation, searched by name through the admin API; then the metrics and the audit log.
    await admin.frame.getByRole('tab', { name: 'All sessions' }).click();
    await admin.frame.getByTestId('session-row').filter({ hasText: 'I have a question' }).waitFor();
    await admin.frame.getByLabel('Name starts with').fill('zzz');
    await admin.frame.getByRole('button', { name: 'Apply' }).click();
    await admin.frame.getByTestId('total').filter({ hasText: '0 sessions' }).waitFor();
    await admin.frame.getByLabel('Name starts with').fill('I have');
    await admin.frame.getByRole('button', { name: 'Apply' }).click();
    await admin.frame.getByTestId('total').filter({ hasText: '1 sessions' }).waitFor();
    await admin.frame.getByRole('tab', { name: 'Metrics' }).click();
    const card = (label: string) => admin.frame.getByTestId('metric').filter({ hasText: label }).locator('dd');
    await card('Sessions started').filter({ hasText: /^1$/ }).waitFor();
    expect(await card('Help requests / pickups').textContent()).toBe('1 / 1');
    expect(await card('Takeovers').textContent()).toBe('1');
    expect(await card('Messages (user / AI / admin)').textContent()).toBe('3 / 2 / 1');
    await admin.frame.locator('.chart canvas').waitFor();
    await admin.tab.screenshot({ path: screenshotPath('admin-metrics-desktop') });
    await admin.frame.getByRole('tab', { name: 'Audit log' }).click();
    await admin.frame.getByTestId('audit-row').filter({ hasText: 'Grace' }).first().waitFor();
    await admin.tab.screenshot({ path: screenshotPath('admin-audit-desktop') });

    const phone = await admin.context.newPage();
    await phone.setViewportSize({ width: 360, height: 740 });
    await phone.goto(host.serve(`/host-${randomUUID()}`, hostPage(bed.t.baseUrl, { page: 'admin' })));
    await phone.frameLocator('iframe.chatbox-frame').locator('.conn-online').waitFor();
    await phone.screenshot({ path: screenshotPath('admin-phone') });

    await admin.context.close();
    await user.context.close();
    expect([...admin.watch.problems, ...user.watch.problems]).toEqual([]);
  });

  it('refuses the console to a user without the admin role', async () => {
    const user = await open('admin', { sub: `user-${randomUUID()}`, name: 'Mallory' });
    await user.frame.locator('.conn-failed').waitFor();
    await user.frame.getByTestId('error').filter({ hasText: 'You are not allowed to do that.' }).waitFor();
    expect(await user.frame.getByTestId('queue-item').count()).toBe(0);
    await user.context.close();
  });
});
