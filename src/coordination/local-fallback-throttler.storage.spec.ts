import { Logger } from '@nestjs/common';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { Counter, Registry } from 'prom-client';
import { LocalFallbackThrottlerStorage } from './local-fallback-throttler.storage';

describe(LocalFallbackThrottlerStorage.name, () => {
  const record = { totalHits: 3, timeToExpire: 5, isBlocked: true, timeToBlockExpire: 5 };
  const local = new ThrottlerStorageService();
  afterAll(() => local.onApplicationShutdown());

  function setup(outcome: () => Promise<typeof record>, deadlineMs?: number) {
    const counter = new Counter({ name: 'uncounted', help: 'h', labelNames: ['limit'], registers: [new Registry()] });
    const counted = async (): Promise<Record<string, number>> =>
      Object.fromEntries((await counter.get()).values.map(({ labels, value }) => [String(labels.limit), value]));
    let now = 1_000_000;
    const sut = new LocalFallbackThrottlerStorage({ increment: outcome }, local, counter, () => now, deadlineMs);
    const warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    return { sut, counted, warnings, advance: (ms: number) => (now += ms) };
  }
  afterEach(() => jest.restoreAllMocks());

  it("returns the shared storage's decision unchanged and counts nothing locally", async () => {
    const { sut, counted } = setup(() => Promise.resolve(record));

    await expect(sut.increment('k', 1000, 2, 1000, 'events')).resolves.toBe(record);
    expect(await counted()).toEqual({});
  });

  it('counts on this replica alone when the shared storage fails: the limit still holds', async () => {
    const { sut, counted } = setup(() => Promise.reject(new Error('OOM command not allowed')));
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push(await sut.increment('user-1', 60_000, 2, 60_000, 'events'));

    expect(decisions.map((d) => d.isBlocked)).toEqual([false, false, true]);
    expect(decisions[2].timeToBlockExpire).toBeGreaterThan(0);
    expect(await counted()).toEqual({ events: 3 });
  });

  it('logs a failing limit once a minute, each limit on its own', async () => {
    const { sut, warnings, advance } = setup(() => Promise.reject(new Error('Redis is reconnecting')));

    await sut.increment('a', 1000, 100, 1000, 'events');
    await sut.increment('a', 1000, 100, 1000, 'events');
    await sut.increment('b', 1000, 100, 1000, 'public');
    advance(59_999);
    await sut.increment('a', 1000, 100, 1000, 'events');
    advance(1);
    await sut.increment('a', 1000, 100, 1000, 'events');

    expect(warnings.mock.calls.map(([fields]) => (fields as { limit: string }).limit)).toEqual([
      'events',
      'public',
      'events',
    ]);
  });

  it('gives up on a Redis that does not answer in time, counts locally, and leaves it alone for 5 s', async () => {
    let asked = 0;
    const hung = () => {
      asked++;
      return new Promise<typeof record>(() => undefined);
    };
    const { sut, counted, warnings, advance } = setup(hung, 10);

    const first = await sut.increment('hung-1', 60_000, 1, 60_000, 'events');
    const second = await sut.increment('hung-1', 60_000, 1, 60_000, 'events');
    expect([first.isBlocked, second.isBlocked]).toEqual([false, true]);
    expect(asked).toBe(1);
    advance(4_999);
    await sut.increment('hung-2', 60_000, 1, 60_000, 'events');
    expect(asked).toBe(1);
    advance(1);
    await sut.increment('hung-3', 60_000, 1, 60_000, 'events');
    expect(asked).toBe(2);
    expect(await counted()).toEqual({ events: 4 });
    expect((warnings.mock.calls[0][0] as { err: Error }).err.message).toBe(
      'Redis did not answer within 10 ms: nothing counted',
    );
  });
});
