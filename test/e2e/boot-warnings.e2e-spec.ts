import { startTestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

// A file of its own: Nest warns of a route only the first time an app in the process registers it.
describe('booting the application', () => {
  it('warns of nothing about how routes are written, and request logs still cover every route', async () => {
    const t = await startTestApp();
    try {
      await fetch(`${t.baseUrl}/chatbox/no-such-page`, { headers: { 'x-request-id': 'unrouted-1' } });
      const line = await waitFor(
        () => t.logs.lines.find((l) => (l.req as { id?: string } | undefined)?.id === 'unrouted-1'),
        { what: 'the log line of the unrouted request' },
      );
      expect(line.res).toEqual({ statusCode: 404 });
      expect(t.logs.lines.filter((l) => Number(l.level) >= 40 && !l.req).map((l) => l.msg)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
