import { Logger } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import { FailOpenThrottlerStorage } from './fail-open-throttler.storage';

describe(FailOpenThrottlerStorage.name, () => {
  const record = { totalHits: 3, timeToExpire: 5, isBlocked: true, timeToBlockExpire: 5 };

  function setup(outcome: () => Promise<typeof record>) {
    const counter = new Counter({ name: 'uncounted', help: 'h', labelNames: ['limit'], registers: [new Registry()] });
    const counted = async (): Promise<Record<string, number>> =>
      Object.fromEntries((await counter.get()).values.map(({ labels, value }) => [String(labels.limit), value]));
    let now = 1_000_000;
    const sut = new FailOpenThrottlerStorage({ increment: outcome }, counter, () => now);
    const warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    return { sut, counted, warnings, advance: (ms: number) => (now += ms) };
  }
  afterEach(() => jest.restoreAllMocks());

  it("returns the wrapped storage's decision unchanged and counts nothing as uncounted", async () => {
    const { sut, counted } = setup(() => Promise.resolve(record));

    await expect(sut.increment('k', 1000, 2, 1000, 'events')).resolves.toBe(record);
    expect(await counted()).toEqual({});
  });

  it('lets a request it cannot count through, counted by limit, and logs each limit once a minute', async () => {
    const { sut, counted, warnings, advance } = setup(() => Promise.reject(new Error('Redis is reconnecting')));

    await expect(sut.increment('k', 1000, 2, 1000, 'events')).resolves.toMatchObject({ isBlocked: false });
    await sut.increment('k', 1000, 2, 1000, 'events');
    await sut.increment('k', 1000, 2, 1000, 'public');
    advance(59_999);
    await sut.increment('k', 1000, 2, 1000, 'events');
    advance(1);
    await sut.increment('k', 1000, 2, 1000, 'events');

    expect(await counted()).toEqual({ events: 4, public: 1 });
    expect(warnings.mock.calls.map(([fields]) => (fields as { limit: string }).limit)).toEqual([
      'events',
      'public',
      'events',
    ]);
  });
});
