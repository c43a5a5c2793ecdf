import { randomUUID } from 'node:crypto';
import { fakeModel } from '../servers/fake-llm-server';
import { AdminClient } from '../utils/admin-client';
import { signToken } from '../utils/chat-client';
import { browserTestbed } from './testbed';

describe('the chat page with two models, and who is typing', () => {
  const bed = browserTestbed((fake, host) => ({
    NODE_ENV: 'production',
    LLM_MODELS: JSON.stringify([
      fakeModel(fake, { id: 'quick', name: 'Quick', model: 'quick-fake' }),
      fakeModel(fake, { id: 'deep', name: 'Deep thinker', model: 'deep-fake' }),
    ]),
    ALLOWED_PARENT_ORIGINS: host.origin,
  }));
  const { fake } = bed;

  it("answers with the model the user picked; the picker gives way to the administrator's name while one holds the chat", async () => {
    fake.script('openai', { kind: 'ok', text: 'Deep answer.' });
    const userId = `user-${randomUUID()}`;
    const { context, watch, frame: chat } = await bed.open('chat', { sub: userId, name: 'Ada' });
    const picker = chat.getByLabel('Model');
    const composer = chat.getByLabel('Your message');

    await picker.waitFor();
    expect(await picker.locator('option').allTextContents()).toEqual(['Quick', 'Deep thinker']);
    expect(await picker.inputValue()).toBe('quick');
    await picker.selectOption({ label: 'Deep thinker' });
    await composer.fill('Think hard');
    await composer.press('Enter');
    await chat.locator('.msg-ai:not(.msg-streaming)', { hasText: 'Deep answer.' }).waitFor();
    expect(fake.of('openai').at(-1)?.body.model).toBe('deep-fake');

    const token = await signToken(bed.t.env.JWT_SECRET, { sub: userId });
    const listed = await fetch(`${bed.t.baseUrl}/chatbox/sessions?limit=1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const [{ id: sessionId }] = ((await listed.json()) as { sessions: { id: string }[] }).sessions;
    const admin = new AdminClient(
      bed.t.baseUrl,
      await signToken(bed.t.env.JWT_SECRET, { sub: 'admin-1', name: 'Grace', roles: ['admin'] }),
    );
    try {
      await admin.connected();
      expect((await admin.call('admin:join', { sessionId })).ok).toBe(true);
      await chat.getByTestId('with-admin').filter({ hasText: 'With Grace' }).waitFor();
      expect(await picker.count()).toBe(0);

      // Each side sees the other typing.
      expect((await admin.call('admin:typing', { sessionId, isTyping: true })).ok).toBe(true);
      await chat.getByText('Grace is typing…').waitFor();
      const userTyping = admin.waitForEvent(
        'typing',
        (e) => e.sessionId === sessionId && e.sender === 'user' && e.isTyping === true,
      );
      await composer.pressSequentially('Hel');
      expect(await userTyping).toMatchObject({ userId, name: 'Ada' });
      expect((await admin.call('admin:typing', { sessionId, isTyping: false })).ok).toBe(true);
      await chat.getByText('Grace is typing…').waitFor({ state: 'detached' });

      expect((await admin.call('admin:leave', { sessionId })).ok).toBe(true);
      await picker.waitFor();
      expect(await picker.inputValue()).toBe('deep');
    } finally {
      admin.socket.disconnect();
    }
    await context.close();
    expect(watch.problems).toEqual([]);
  });
});
