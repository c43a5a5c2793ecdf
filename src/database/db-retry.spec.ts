import { isTransientDbError, withDbRetry } from './db-retry';

const named = (name: string, message = 'x', code?: number) => Object.assign(new Error(message), { name, code });

describe(isTransientDbError.name, () => {
  it.each([
    ['a dropped connection', named('MongoNetworkError')],
    ['no primary to select', named('MongoServerSelectionError')],
    ['an election', named('MongoServerError', 'not primary', 10107)],
    ['a primary stepping down', named('MongoServerError', 'stepped down', 189)],
    [
      'a write to a connection the server closed, as the driver lets it through',
      Object.assign(new Error('This socket has been ended by the other party'), { code: 'EPIPE' }),
    ],
    ['a connection reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a locked embedded database', named('MongoServerError', 'database is locked (5) (SQLITE_BUSY)', 1)],
  ])('calls %s transient', (_what, error) => {
    expect(isTransientDbError(error)).toBe(true);
  });

  it.each([
    ['a duplicate key', named('MongoServerError', 'E11000 duplicate key', 11000)],
    ['a validation failure', named('ValidationError')],
    ['a file that is not there', Object.assign(new Error('no such file'), { code: 'ENOENT' })],
    ['something that is not an error', 'SQLITE_BUSY'],
  ])('does not call %s transient', (_what, error) => {
    expect(isTransientDbError(error)).toBe(false);
  });
});

describe(withDbRetry.name, () => {
  it('retries transient failures until the operation succeeds', async () => {
    let calls = 0;
    const result = await withDbRetry(
      () => (++calls < 3 ? Promise.reject(named('MongoNetworkError')) : Promise.resolve('stored')),
      { deadline: Date.now() + 5000, baseDelayMs: 1 },
    );
    expect([result, calls]).toEqual(['stored', 3]);
  });

  it('throws anything else at once', async () => {
    let calls = 0;
    const duplicate = named('MongoServerError', 'E11000', 11000);
    await expect(withDbRetry(() => (calls++, Promise.reject(duplicate)), { deadline: Date.now() + 5000 })).rejects.toBe(
      duplicate,
    );
    expect(calls).toBe(1);
  });

  it('gives up with the last error once the next attempt would start past the deadline', async () => {
    let calls = 0;
    const down = named('MongoNetworkError');
    await expect(
      withDbRetry(() => (calls++, Promise.reject(down)), { deadline: Date.now() + 50, baseDelayMs: 20 }),
    ).rejects.toBe(down);
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(5);
  });
});
