import { createHmac } from 'node:crypto';
import { runNotifyTest } from '../../src/notification/notify-test';
import { HttpReceiver } from '../servers/http-receiver';

const SECRET = 's'.repeat(40);

describe('npm run notify:test, in process', () => {
  const receiver = new HttpReceiver();
  const env = () => ({ WEBHOOK_URLS: `${receiver.baseUrl}/hooks`, WEBHOOK_SECRET: SECRET });
  const run = async (argv: string[], environment: NodeJS.ProcessEnv) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runNotifyTest(argv, environment, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  };

  beforeAll(() => receiver.start());
  afterEach(() => receiver.reset());
  afterAll(() => receiver.stop());

  it('sends one signed test event through the configured webhook and exits 0', async () => {
    const { code, out } = await run(['--channel', 'webhook'], env());
    expect(code).toBe(0);
    const printed = JSON.parse(out[0]) as { ok: boolean; channel: string; id: string };
    expect(printed).toMatchObject({ ok: true, channel: 'webhook' });
    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(JSON.parse(request.rawBody)).toMatchObject({ id: printed.id, event: 'test' });
    const fields = new Map(
      String(request.headers['chatbox-signature'])
        .split(',')
        .map((kv) => kv.split('=') as [string, string]),
    );
    const expected = createHmac('sha256', SECRET)
      .update(`${fields.get('t')}.${request.rawBody}`)
      .digest('hex');
    expect(fields.get('v1')).toBe(expected);
  });

  it('exits 1 with the error when the channel refuses it, saying whether a retry may help', async () => {
    receiver.script({ status: 503 });
    const { code, out } = await run(['--channel', 'webhook'], env());
    expect(code).toBe(1);
    expect(JSON.parse(out[0])).toMatchObject({ ok: false, channel: 'webhook', retryable: true });
  });

  it('exits 2 without trying on a bad usage, a channel not configured, or an invalid configuration', async () => {
    expect(await run([], env())).toMatchObject({ code: 2, err: [expect.stringContaining('usage')] });
    expect(await run(['--channel', 'fax'], env())).toMatchObject({ code: 2 });
    expect(await run(['--channel', 'email'], env())).toMatchObject({
      code: 2,
      err: ['The email channel is not configured (configured: webhook)'],
    });
    const invalid = await run(['--channel', 'email'], { SMTP_URL: 'smtp://mail.internal', ADMIN_EMAILS: 'nope' });
    expect(invalid.code).toBe(2);
    expect(invalid.err[0]).toContain('ADMIN_EMAILS');
    expect(receiver.requests).toEqual([]);
  });
});
