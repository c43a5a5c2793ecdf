import { ChannelError } from '../notification-channel';
import { describeUrl, signWebhook, throwFailures } from './webhook.channel';

describe(signWebhook.name, () => {
  it('signs "<t>.<raw body>" with HMAC-SHA256 under the secret', () => {
    // Computed with: printf '1700000000.{"id":"n1"}' | openssl dgst -sha256 -hmac <secret>
    expect(signWebhook('whsec-0123456789abcdef0123456789abcdef', 1700000000, '{"id":"n1"}')).toBe(
      't=1700000000,v1=f92d71566bcc14aa43e2ea424df76042d76395fa0a64e17bc7ef3208eb673976',
    );
  });
});

describe(describeUrl.name, () => {
  it('keeps only the origin of a URL', () => {
    expect(describeUrl('https://hooks.example.com:8443/T1/B2/secret?token=x')).toBe('https://hooks.example.com:8443');
  });
});

describe(throwFailures.name, () => {
  const ok: PromiseSettledResult<void> = { status: 'fulfilled', value: undefined };
  const thrown = (fn: () => void): unknown => {
    try {
      fn();
    } catch (error) {
      return error;
    }
    return undefined;
  };
  const failed = (reason: unknown): PromiseSettledResult<void> => ({ status: 'rejected', reason });

  it('does nothing when every attempt succeeded', () => {
    expect(() => throwFailures([ok, ok])).not.toThrow();
  });

  it('throws the one failure as it is', () => {
    const error = new ChannelError('webhook 2 answered 400', false);

    expect(() => throwFailures([ok, failed(error)])).toThrow(error);
  });

  it('throws one error for several failures, retryable only when one of them is', () => {
    const permanent = failed(new ChannelError('a answered 400', false));

    expect(thrown(() => throwFailures([permanent, permanent]))).toMatchObject({
      message: '2 of 2 failed: a answered 400; a answered 400',
      retryable: false,
    });
    expect(thrown(() => throwFailures([permanent, failed(new Error('unexpected')), ok]))).toMatchObject({
      message: '2 of 3 failed: a answered 400; unexpected',
      retryable: true,
    });
  });
});
