import { replyDuringOutage } from '../utils/reply-during-outage';
import { waitFor } from '../utils/wait-for';

describe('a reply whose database is away longer than its lease', () => {
  let scene: Awaited<ReturnType<typeof replyDuringOutage>> | undefined;
  afterEach(() => scene?.close());

  it('is kept, then stored with its ai:end once the database is back', async () => {
    scene = await replyDuringOutage({ TURN_LEASE_MS: '3000', REDIS_URL: process.env.CHATBOX_TEST_REDIS_URL ?? '' });
    const { app, client, reply, answer } = scene;
    await waitFor(() => app.logs.lines.some((l) => l.msg === 'reply not saved: it is kept for the next attempt'), {
      timeoutMs: 20000,
      what: 'the save to give up',
    });
    expect(client.streamedText(reply)).toBe(answer);
    expect(client.named('ai:end')).toEqual([]);
    await scene.db.start();
    await scene.expectStoredOnce();
  }, 60000);
});
