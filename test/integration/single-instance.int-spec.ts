import { Logger } from '@nestjs/common';
import mongoose, { Connection } from 'mongoose';
import { AppConfig } from '../../src/config/app-config';
import {
  INSTANCE_LEASES,
  InstanceLease,
  LEASE_TTL_MS,
  leaseId,
  SecondInstanceError,
  SingleInstanceGuard,
} from '../../src/lifecycle/single-instance.guard';
import { testMongoUri } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

describe(SingleInstanceGuard.name, () => {
  let connection: Connection;
  const production = { env: 'production', redis: {} } as AppConfig;
  const guards: SingleInstanceGuard[] = [];
  const guard = (config: AppConfig = production) => {
    const g = new SingleInstanceGuard(config, connection);
    guards.push(g);
    return g;
  };
  const leases = () => connection.collection<InstanceLease>(INSTANCE_LEASES);
  /** The lease in force: the newest generation. */
  const lease = () => leases().find({}).sort({ generation: -1 }).limit(1).next();
  const staleLease = async () => {
    await leases().deleteMany({});
    await leases().insertOne({
      _id: leaseId(7),
      generation: 7,
      holder: 'dead',
      renewedAt: new Date(Date.now() - LEASE_TTL_MS - 5000),
    });
  };
  const started = async (gs: SingleInstanceGuard[]) =>
    (await Promise.allSettled(gs.map((g) => g.onModuleInit()))).filter((r) => r.status === 'fulfilled').length;

  beforeEach(async () => {
    connection = await mongoose.createConnection(testMongoUri()).asPromise();
  });
  afterEach(async () => {
    await Promise.all(guards.splice(0).map((g) => g.beforeApplicationShutdown()));
    await connection.dropDatabase();
    await connection.close();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('lets one replica without Redis start in production, refuses a second, and lets the next one in after a stop', async () => {
    await guard().onModuleInit();
    await expect(guard().onModuleInit()).rejects.toThrow(SecondInstanceError);

    await guards[0].beforeApplicationShutdown();
    // Released as stale, not deleted: the next replica takes the next generation, and the old one goes.
    const released = (await lease()) as InstanceLease;
    expect(released.renewedAt.getTime()).toBe(0);
    await expect(guard().onModuleInit()).resolves.toBeUndefined();
    const left = await leases().find().toArray();
    expect(left.map((l) => l.generation)).toEqual([released.generation + 1]);
    expect(left[0].holder).not.toBe(released.holder);
  });

  it('takes over the lease of a replica that died (not renewed for the lease time)', async () => {
    await staleLease();

    await expect(guard().onModuleInit()).resolves.toBeUndefined();
    expect((await lease())?.holder).not.toBe('dead');
  });

  it('lets exactly one of eight replicas starting at once in, on an empty database, over a released lease and over a dead one', async () => {
    // Each round's guards stop before the next: a winner's renewal (every 10 s) landing on the emptied
    // collection would otherwise take the lease back and leave no winner among the next eight.
    const stopAll = () => Promise.all(guards.splice(0).map((g) => g.beforeApplicationShutdown()));
    for (let round = 0; round < 5; round++) {
      await leases().deleteMany({});
      expect(await started(Array.from({ length: 8 }, () => guard()))).toBe(1);
      await stopAll();
      expect(await started(Array.from({ length: 8 }, () => guard()))).toBe(1);
      await stopAll();
      await staleLease();
      expect(await started(Array.from({ length: 8 }, () => guard()))).toBe(1);
      await stopAll();
    }
  });

  it("judges a lease's age by the database's clock, not by a replica's clock that runs ahead", async () => {
    await guard().onModuleInit();
    // This process's clock 35 s ahead: the lease, renewed just now, would look stale by it.
    jest.useFakeTimers({
      now: Date.now() + LEASE_TTL_MS + 5000,
      doNotFake: [
        'nextTick',
        'setImmediate',
        'clearImmediate',
        'setTimeout',
        'clearTimeout',
        'setInterval',
        'clearInterval',
        'queueMicrotask',
        'hrtime',
        'performance',
      ],
    });

    await expect(guard().onModuleInit()).rejects.toThrow(SecondInstanceError);
  });

  it('holds nothing with Redis, or outside production', async () => {
    await guard({ env: 'production', redis: { url: 'redis://127.0.0.1:6379' } } as AppConfig).onModuleInit();
    await guard({ env: 'development', redis: {} } as AppConfig).onModuleInit();
    await guard({ env: 'development', redis: {} } as AppConfig).onModuleInit();

    expect(await lease()).toBeNull();
  });

  it('steps down when another replica took its lease', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const sut = guard();
    let lost = 0;
    sut.onLost(() => lost++);
    await sut.onModuleInit();
    const mine = (await lease()) as InstanceLease;
    await leases().insertOne({
      _id: leaseId(mine.generation + 1),
      generation: mine.generation + 1,
      holder: 'intruder',
      renewedAt: new Date(),
    });

    jest.advanceTimersByTime(LEASE_TTL_MS / 3);
    jest.useRealTimers();

    await waitFor(() => lost === 1, { what: 'the replica to step down' });
  });
});
