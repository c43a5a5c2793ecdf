import { AdminSessionView, queueOrder } from './admin-queue';

const view = (id: string, lastActivityAt: string, helpAt?: string): AdminSessionView =>
  ({
    id,
    lastActivityAt,
    help: helpAt ? { requestedAt: helpAt } : null,
  }) as AdminSessionView;

describe(queueOrder.name, () => {
  it('lists help requests first, the longest waiting first, then the most recently active', () => {
    const queue = [
      view('quiet', '2026-12-01T09:00:00.000Z'),
      view('help-late', '2026-12-01T09:10:00.000Z', '2026-12-01T09:09:00.000Z'),
      view('busy', '2026-12-01T09:20:00.000Z'),
      view('help-early', '2026-12-01T08:00:00.000Z', '2026-12-01T08:30:00.000Z'),
    ];

    expect([...queue].sort(queueOrder).map((v) => v.id)).toEqual(['help-early', 'help-late', 'busy', 'quiet']);
  });
});
