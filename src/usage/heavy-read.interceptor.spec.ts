import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { from, lastValueFrom } from 'rxjs';
import { AppError } from '../common/errors/app-error';
import type { AppConfig } from '../config/app-config';
import { HeavyReadLimiter } from './heavy-read-limiter.service';
import { HeavyReadInterceptor } from './heavy-read.interceptor';

/** A read that ends when the test says so. */
function heldRead() {
  let finish!: (value: string) => void;
  let fail!: (error: Error) => void;
  const done = new Promise<string>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const handler: CallHandler = { handle: () => from(done) };
  return { handler, finish, fail };
}

describe(HeavyReadInterceptor.name, () => {
  let sut: HeavyReadInterceptor;
  let headers: Record<string, string>;
  let context: ExecutionContext;

  beforeEach(() => {
    sut = new HeavyReadInterceptor(new HeavyReadLimiter({ usage: { heavyReadsMax: 2 } } as AppConfig));
    headers = {};
    const reply = { header: (name: string, value: string) => (headers[name] = value) };
    context = { switchToHttp: () => ({ getResponse: () => reply }) } as unknown as ExecutionContext;
  });

  const run = (read: { handler: CallHandler }) => lastValueFrom(sut.intercept(context, read.handler));
  const refusal = (read: { handler: CallHandler }) => {
    try {
      void run(read);
    } catch (error) {
      return error;
    }
    return undefined;
  };

  it('refuses a third read while two run, with 429 too_many_requests and Retry-After: 1', async () => {
    const [one, two] = [heldRead(), heldRead()];
    const answers = [run(one), run(two)];

    const error = refusal(heldRead());

    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'too_many_requests', status: 429, details: { retryAfterMs: 1000 } });
    expect(headers).toEqual({ 'retry-after': '1' });
    one.finish('one');
    two.finish('two');
    await expect(Promise.all(answers)).resolves.toEqual(['one', 'two']);
  });

  it('gives a slot back when a read answers or fails, and only then', async () => {
    const [one, two] = [heldRead(), heldRead()];
    const answered = run(one);
    const failed = run(two);
    expect(refusal(heldRead())).toMatchObject({ code: 'too_many_requests' });

    one.finish('one');
    await answered;
    const three = heldRead();
    const third = run(three);
    expect(refusal(heldRead())).toMatchObject({ code: 'too_many_requests' });
    two.fail(new Error('the database went away'));
    await expect(failed).rejects.toThrow('the database went away');
    const four = heldRead();
    const fourth = run(four);

    expect(refusal(heldRead())).toMatchObject({ code: 'too_many_requests' });
    three.finish('three');
    four.finish('four');
    await expect(Promise.all([third, fourth])).resolves.toEqual(['three', 'four']);
    expect(headers).toEqual({ 'retry-after': '1' });
  });

  it('lets every read run, one after another, with no slot left behind', async () => {
    for (let i = 0; i < 5; i++) {
      const read = heldRead();
      const answer = run(read);
      read.finish(`read ${i}`);
      await expect(answer).resolves.toBe(`read ${i}`);
    }
    const [one, two] = [heldRead(), heldRead()];
    const both = Promise.all([run(one), run(two)]);

    expect(refusal(heldRead())).toMatchObject({ code: 'too_many_requests' });
    one.finish('one');
    two.finish('two');
    await both;
  });
});
