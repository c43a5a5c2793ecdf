import { spawn } from 'node:child_process';
import { HttpReceiver } from '../servers/http-receiver';
import { PROJECT_ROOT } from '../setup/test-env';

describe('npm run notify:test', () => {
  const receiver = new HttpReceiver();
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());

  it('sends a test notification through the channel the environment configures, and prints the outcome', async () => {
    const child = spawn('npm', ['run', '--silent', 'notify:test', '--', '--channel', 'webhook'], {
      cwd: PROJECT_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        WEBHOOK_URLS: `${receiver.baseUrl}/hooks`,
        WEBHOOK_SECRET: 'k'.repeat(40),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    expect(code).toBe(0);
    expect(JSON.parse(stdout.trim())).toMatchObject({ ok: true, channel: 'webhook' });
    expect(receiver.requests.map((r) => (JSON.parse(r.rawBody) as { event: string }).event)).toEqual(['test']);
  });
});
