import { randomUUID } from 'node:crypto';
import { buildChannels } from './channels/build-channels';
import { ChannelError, ChannelKind, Notification } from './notification-channel';
import { parseNotificationConfig } from './notification-config';

export interface NotifyTestOutput {
  out(line: string): void;
  err(line: string): void;
}

const KINDS: readonly ChannelKind[] = ['email', 'sms', 'webhook', 'log'];
const USAGE = 'usage: npm run notify:test -- --channel email|sms|webhook|log';
const TIMEOUT_MS = 30000;

/**
 * `npm run notify:test -- --channel <kind>`: sends one `test` notification through the channel as the
 * environment configures it (the same variables as the service), without booting the service or touching
 * the database. Prints one JSON line; exits 0 when it was delivered, 1 when the channel refused it, 2 when
 * it could not be tried (usage, configuration).
 */
export async function runNotifyTest(argv: string[], env: NodeJS.ProcessEnv, output: NotifyTestOutput): Promise<number> {
  const at = argv.indexOf('--channel');
  const kind = at >= 0 ? argv[at + 1] : undefined;
  if (!kind || !KINDS.includes(kind as ChannelKind)) {
    output.err(USAGE);
    return 2;
  }
  const problems: string[] = [];
  const config = parseNotificationConfig(env, problems);
  if (problems.length > 0) {
    output.err(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    return 2;
  }
  const channel = buildChannels(config).find((c) => c.kind === kind);
  if (!channel) {
    output.err(`The ${kind} channel is not configured (configured: ${config.channels.join(', ')})`);
    return 2;
  }
  const notification: Notification = {
    id: `test:${randomUUID()}`,
    event: 'test',
    occurredAt: new Date(),
    data: { detail: 'A test notification sent with npm run notify:test' },
  };
  try {
    await channel.send(notification, AbortSignal.timeout(TIMEOUT_MS));
    output.out(JSON.stringify({ ok: true, channel: kind, id: notification.id }));
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : 'unknown error';
    const retryable = !(error instanceof ChannelError) || error.retryable;
    output.out(JSON.stringify({ ok: false, channel: kind, id: notification.id, error: message, retryable }));
    return 1;
  }
}

if (require.main === module) {
  void runNotifyTest(process.argv.slice(2), process.env, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then((code) => (process.exitCode = code));
}
