import { RoomBroadcaster } from '../../src/common/realtime/room-broadcaster';
import { startTestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';
import type { SessionView } from '../../src/session/session-views';

describe('the Redis adapter at shutdown', () => {
  it('drops a broadcast made after the application closed, leaving no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const t = await startTestApp({ REDIS_URL: process.env.CHATBOX_TEST_REDIS_URL });
      const broadcaster = t.app.get(RoomBroadcaster);
      await t.close();
      // What a listener still running when the replica closed does (the admin feed, a sweep).
      let published = 0;
      for (; published < 20; published++) {
        broadcaster.toSession('00000000-0000-4000-8000-000000000000', 'session:state', {} as SessionView);
      }
      // A rejection surfaces within a few turns of the event loop; a marker rejected after the
      // broadcasts is handled, so seeing it means the broadcasts' turn has passed.
      let marked = false;
      setImmediate(() => setImmediate(() => (marked = true)));
      await waitFor(() => marked, { what: 'the event loop to move on' });
      expect(published).toBe(20);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });
});
