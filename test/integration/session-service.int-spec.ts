import { Global, Module } from '@nestjs/common';
import { getConnectionToken } from '@nestjs/mongoose';
import { Test, TestingModule } from '@nestjs/testing';
import { Connection } from 'mongoose';
import { register } from 'prom-client';
import { ConfigModule } from '../../src/config/config.module';
import { loadConfig } from '../../src/config/load-config';
import { DatabaseModule } from '../../src/database/database.module';
import { chatboxMetricProviders } from '../../src/metrics/chatbox.metrics';
import { SessionModule } from '../../src/session/session.module';
import { SessionService } from '../../src/session/session.service';
import { testMongoUri } from '../utils/test-app';

// The metrics the service records, without the HTTP side of MetricsModule.
@Global()
@Module({ providers: chatboxMetricProviders, exports: chatboxMetricProviders })
class TestMetricsModule {}

describe(SessionService.name, () => {
  let moduleRef: TestingModule;
  let sut: SessionService;
  let connection: Connection;
  const principal = { userId: 'u-1', roles: [], isAdmin: false, exp: 0 };

  beforeAll(async () => {
    register.clear();
    moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot(loadConfig({ MONGODB_URI: testMongoUri() })),
        DatabaseModule,
        TestMetricsModule,
        SessionModule,
      ],
    }).compile();
    await moduleRef.init();
    sut = moduleRef.get(SessionService);
    connection = moduleRef.get<Connection>(getConnectionToken());
  });
  afterAll(() => moduleRef?.close());

  it('takes the next seq when the counter lags a stored message, instead of failing or overwriting', async () => {
    const { session } = await sut.start(principal, 'demo');
    const first = await sut.append(session.id, { sender: 'user', content: 'one', clientMessageId: 'c1' });
    // What a lost update to the counter looks like: the counter falls behind the stored seqs.
    await connection.collection('sessions').updateOne({ _id: session.id as never }, { $set: { lastSeq: 0 } });
    const second = await sut.append(session.id, { sender: 'user', content: 'two', clientMessageId: 'c2' });
    expect([first.message.seq, second.message.seq]).toEqual([1, 2]);
    const stored = await sut.messagesAfter(session.id, 0);
    expect(stored.map((m) => [m.seq, m.content])).toEqual([
      [1, 'one'],
      [2, 'two'],
    ]);
  });

  it('still owes a turn to a lower-seq message that became visible after a higher one was answered', async () => {
    const owner = { ...principal, userId: 'u-race' };
    const { session } = await sut.start(owner, 'demo');
    const lower = await sut.append(session.id, {
      sender: 'user',
      content: 'sent first, stored last',
      clientMessageId: 'x',
    });
    const higher = await sut.append(session.id, { sender: 'user', content: 'sent second', clientMessageId: 'y' });
    expect(lower.message.seq).toBeLessThan(higher.message.seq);
    // The turn loop saw only the higher one (the lower insert was not visible yet) and answered it.
    await sut.markAnswered(higher.message.id);
    expect((await sut.nextPending(session.id))?.id).toBe(lower.message.id);
    expect(await sut.pendingCount(session.id)).toBe(1);
    expect(await sut.owingTurns([session.id])).toEqual([session.id]);
    await sut.markAnswered(lower.message.id);
    expect(await sut.nextPending(session.id)).toBeUndefined();
    expect(await sut.owingTurns([session.id])).toEqual([]);
  });

  it('ends idempotently and refuses appends to an ended session', async () => {
    const { session } = await sut.start({ ...principal, userId: 'u-2' }, 'demo');
    await sut.end({ ...principal, userId: 'u-2' }, session.id);
    await expect(sut.end({ ...principal, userId: 'u-2' }, session.id)).resolves.toMatchObject({ status: 'ended' });
    await expect(sut.append(session.id, { sender: 'user', content: 'late' })).rejects.toMatchObject({
      code: 'session_ended',
    });
  });

  it('refuses to show a value that does not decrypt, and counts it', async () => {
    const { session } = await sut.start({ ...principal, userId: 'u-3' }, 'demo');
    await sut.append(session.id, { sender: 'user', content: 'fine' });
    await connection
      .collection('messages')
      .updateOne({ sessionId: session.id }, { $set: { content: 'v1:k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
    await expect(sut.messagesAfter(session.id, 0)).rejects.toMatchObject({ code: 'internal_error' });
    expect(await register.getSingleMetricAsString('chatbox_decrypt_failures_total')).toMatch(/key_id="k1"} 1/);
  });
});
