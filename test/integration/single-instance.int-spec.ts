import { Logger } from '@nestjs/common';
import mongoose, { Connection } from 'mongoose';
import { AppConfig } from '../../src/config/app-config';
import {
  INSTANCE_LEASES,
  LEASE_TTL_MS,
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
  const lease = () => connection.collection<{ _id: string }>(INSTANCE_LEASES).findOne({ _id: 'single-instance' });

  beforeEach(async () => {
    connection = await mongoose.createConnection(testMongoUri()).asPromise();
  });
  afterEach(async () => {
    await Promise.all(guards.splice(0).map((g) => g.onApplicationShutdown()));
    await connection.dropDatabase();
    await connection.close();
    jest.restoreAllMocks();
  });

  it('lets one replica without Redis start in production, refuses a second, and lets the next one in after a stop', async () => {
    await guard().onApplicationBootstrap();
    await expect(guard().onApplicationBootstrap()).rejects.toThrow(SecondInstanceError);

    await guards[0].onApplicationShutdown();
    expect(await lease()).toBeNull();
    await expect(guard().onApplicationBootstrap()).resolves.toBeUndefined();
  });

  it('takes over the lease of a replica that died (not renewed for the lease time)', async () => {
    await connection
      .collection<{ _id: string; holder: string; renewedAt: Date }>(INSTANCE_LEASES)
      .insertOne({ _id: 'single-instance', holder: 'dead', renewedAt: new Date(Date.now() - LEASE_TTL_MS - 1000) });

    await expect(guard().onApplicationBootstrap()).resolves.toBeUndefined();
    expect(await lease()).toMatchObject({ holder: expect.not.stringMatching(/^dead$/) as string });
  });

  it('holds nothing with Redis, or outside production', async () => {
    await guard({ env: 'production', redis: { url: 'redis://127.0.0.1:6379' } } as AppConfig).onApplicationBootstrap();
    await guard({ env: 'development', redis: {} } as AppConfig).onApplicationBootstrap();
    await guard({ env: 'development', redis: {} } as AppConfig).onApplicationBootstrap();

    expect(await lease()).toBeNull();
  });

  it('says so, loudly, when another replica took its lease', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      await guard().onApplicationBootstrap();
      await connection
        .collection<{ _id: string }>(INSTANCE_LEASES)
        .updateOne({ _id: 'single-instance' }, { $set: { holder: 'intruder', renewedAt: new Date() } });

      jest.advanceTimersByTime(LEASE_TTL_MS / 3);
      jest.useRealTimers();
      await waitFor(() => errors.mock.calls.length > 0, { what: 'the stolen lease to be logged' });
      expect(errors.mock.calls[0][0]).toEqual({ holder: 'intruder' });
    } finally {
      jest.useRealTimers();
    }
  });
});
