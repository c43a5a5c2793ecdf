import { Logger, LoggerService } from '@nestjs/common';
import { NotificationChannel } from '../notification-channel';
import { LogChannel } from './log.channel';

/** Takes the place of the app's logger, keeping what was logged. */
class RecordingLogger implements LoggerService {
  readonly entries: { level: string; args: unknown[] }[] = [];
  log = (...args: unknown[]) => this.entries.push({ level: 'log', args });
  warn = (...args: unknown[]) => this.entries.push({ level: 'warn', args });
  error = (...args: unknown[]) => this.entries.push({ level: 'error', args });
}

describe(LogChannel.name, () => {
  let logger: RecordingLogger;
  const sut: NotificationChannel = new LogChannel();

  beforeEach(() => {
    logger = new RecordingLogger();
    Logger.overrideLogger(logger);
  });
  afterAll(() => {
    Logger.overrideLogger(false);
  });

  it('logs a help request with its ids and the cut reason, and no other user text', async () => {
    await sut.send(
      {
        id: 'help.requested:s-1:0:log',
        event: 'help.requested',
        occurredAt: new Date('2026-11-24T10:00:00.000Z'),
        data: { sessionId: 's-1', userId: 'u-1', userName: 'Private Name', reason: 'x'.repeat(500) },
      },
      new AbortController().signal,
    );

    expect(sut.kind).toBe('log');
    expect(logger.entries).toEqual([
      {
        level: 'warn',
        args: [
          {
            notificationId: 'help.requested:s-1:0:log',
            event: 'help.requested',
            occurredAt: '2026-11-24T10:00:00.000Z',
            sessionId: 's-1',
            userId: 'u-1',
            reason: `${'x'.repeat(79)}…`,
          },
          'notification help.requested',
          'Notification',
        ],
      },
    ]);
  });

  it('logs what the service itself wrote in `detail`', async () => {
    await sut.send(
      {
        id: 'n3',
        event: 'rate_limit.abnormal',
        occurredAt: new Date(0),
        data: { detail: '60 of 70 rate-limit decisions (86%) refused' },
      },
      new AbortController().signal,
    );

    expect(logger.entries[0].args[0]).toMatchObject({ detail: '60 of 70 rate-limit decisions (86%) refused' });
  });

  it('logs good news at the log level', async () => {
    await sut.send(
      { id: 'n2', event: 'provider.recovered', occurredAt: new Date(0), data: { provider: 'openai' } },
      new AbortController().signal,
    );

    expect(logger.entries.map((e) => e.level)).toEqual(['log']);
    expect(logger.entries[0].args[0]).toMatchObject({ event: 'provider.recovered', provider: 'openai' });
  });
});
