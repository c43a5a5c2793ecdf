import { RateLimitTally, TalliedThrottlerStorage } from './rate-limit-tally';

describe(RateLimitTally.name, () => {
  const T0 = 1_700_000_000_000;

  it('counts decisions and refusals by limit within the window, and none from before it', () => {
    const tally = new RateLimitTally();
    tally.record('handshakes', true, T0);
    tally.record('events', false, T0 + 10_000);
    tally.record('events', true, T0 + 30_000);
    tally.record('events', true, T0 + 59_999);

    expect(tally.counts(60_000, T0 + 59_999)).toEqual({
      decisions: 4,
      refused: 3,
      refusedBy: { handshakes: 1, events: 2 },
    });
    expect(tally.counts(60_000, T0 + 60_000)).toEqual({ decisions: 3, refused: 2, refusedBy: { events: 2 } });
    expect(tally.counts(1_000, T0 + 59_999)).toEqual({ decisions: 1, refused: 1, refusedBy: { events: 1 } });
  });

  it('forgets what is older than an hour', () => {
    const tally = new RateLimitTally();
    tally.record('events', true, T0);
    tally.record('events', false, T0 + 3_600_000);

    expect(tally.counts(7_200_000, T0 + 3_600_000)).toEqual({ decisions: 1, refused: 0, refusedBy: {} });
  });

  it('tells its listeners of each refusal, after counting it', () => {
    const tally = new RateLimitTally();
    const seen: [string, number][] = [];
    tally.onRefusal((limit) => seen.push([limit, tally.counts(1000, T0).refused]));
    tally.record('public', false, T0);
    tally.record('public', true, T0);

    expect(seen).toEqual([['public', 1]]);
  });
});

describe(TalliedThrottlerStorage.name, () => {
  it("tallies the wrapped storage's decision under the throttler's name and returns it unchanged", async () => {
    const tally = new RateLimitTally();
    const record = { totalHits: 3, timeToExpire: 5, isBlocked: true, timeToBlockExpire: 5 };
    const calls: unknown[][] = [];
    const storage = new TalliedThrottlerStorage(
      {
        increment: (...args: unknown[]) => {
          calls.push(args);
          return Promise.resolve(record);
        },
      },
      tally,
    );

    await expect(storage.increment('k', 1000, 2, 1000, 'handshakes')).resolves.toBe(record);
    expect(calls).toEqual([['k', 1000, 2, 1000, 'handshakes']]);
    expect(tally.counts(60_000)).toEqual({ decisions: 1, refused: 1, refusedBy: { handshakes: 1 } });
  });
});
