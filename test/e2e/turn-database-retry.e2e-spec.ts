import { replyDuringOutage } from '../utils/reply-during-outage';
import { waitFor } from '../utils/wait-for';

describe('a reply whose database is away when it is saved', () => {
  let scene: Awaited<ReturnType<typeof replyDuringOutage>> | undefined;
  afterEach(() => scene?.close());

  it('is stored once the database is back, retrying within the lease', async () => {
    scene = await replyDuringOutage({ TURN_LEASE_MS: '60000' });
    const { app, client, reply, answer } = scene;
    // The whole reply streamed while the database was down, and its save failed once and is being retried.
    await waitFor(() => app.logs.lines.some((l) => l.msg === 'reply not saved yet: retrying'), {
      timeoutMs: 20000,
      what: 'a failed save to be retried',
    });
    expect(client.streamedText(reply)).toBe(answer);
    await scene.db.start();
    await scene.expectStoredOnce();
  }, 60000);
});
