import { toChannelError } from './email.channel';

interface Fields {
  code?: string;
  responseCode?: number;
}

const smtpError = (fields: Fields) => Object.assign(new Error(`failed ${fields.responseCode ?? fields.code}`), fields);

describe(toChannelError.name, () => {
  it.each<[Fields, boolean]>([
    [{ code: 'EENVELOPE', responseCode: 451 }, true],
    [{ code: 'EMESSAGE', responseCode: 452 }, true],
    [{ code: 'ECONNECTION', responseCode: 421 }, true],
    [{ code: 'EMESSAGE', responseCode: 503 }, true],
    [{ code: 'EMESSAGE', responseCode: 550 }, false],
    [{ code: 'EENVELOPE', responseCode: 553 }, false],
    [{ code: 'EAUTH', responseCode: 535 }, false],
    [{ code: 'ECONNECTION' }, true],
    [{ code: 'ESOCKET' }, true],
    [{ code: 'ETIMEDOUT' }, true],
    [{ code: 'EDNS' }, true],
    [{ code: 'ETLS' }, true],
    [{ code: 'ECONFIG' }, false],
    [{ code: 'EENVELOPE' }, false],
    [{ code: 'EAUTH' }, false],
  ])('maps %j to retryable %s', (fields, retryable) => {
    const error = toChannelError(smtpError(fields));

    expect(error.retryable).toBe(retryable);
    expect(error.message).toBe(`SMTP failed ${fields.responseCode ?? fields.code}`);
  });

  it('retries an error it does not know', () => {
    expect(toChannelError('boom')).toMatchObject({ retryable: true, message: 'SMTP boom' });
  });
});
