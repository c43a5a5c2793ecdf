import { randomUUID } from 'node:crypto';
import { Global, Module } from '@nestjs/common';
import { getConnectionToken } from '@nestjs/mongoose';
import { Test, TestingModule } from '@nestjs/testing';
import { Connection } from 'mongoose';
import { register } from 'prom-client';
import { ConfigModule } from '../../src/config/config.module';
import { loadConfig } from '../../src/config/load-config';
import { LeadershipStore } from '../../src/coordination/leadership.store';
import { MemoryLeadershipStore } from '../../src/coordination/memory/memory-leadership.store';
import { DatabaseModule } from '../../src/database/database.module';
import { chatboxMetricProviders } from '../../src/metrics/chatbox.metrics';
import { SessionEvent, SessionEvents } from '../../src/session/session-events';
import { SessionRepository } from '../../src/session/session.repository';
import { SessionModule } from '../../src/session/session.module';
import { NewReply, SessionService, TurnLease } from '../../src/session/session.service';
import { testMongoUri } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

// The metrics the service records, without the HTTP side of MetricsModule; single-instance coordination.
@Global()
@Module({
  providers: [...chatboxMetricProviders, { provide: LeadershipStore, useClass: MemoryLeadershipStore }],
  exports: [...chatboxMetricProviders, LeadershipStore],
})
class TestInfraModule {}

describe(SessionService.name, () => {
  let moduleRef: TestingModule;
  let sut: SessionService;
  let connection: Connection;
  const principal = (userId = `u-${randomUUID()}`) => ({ userId, roles: [], isAdmin: false, exp: 0 });
  const sendAs = async (sessionId: string, content: string, clientMessageId: string = randomUUID()) =>
    sut.appendUserMessage(await sut.find(sessionId), { senderId: 'u', content, clientMessageId, owed: true });
  const lease = (replyTo: string, overrides: Partial<TurnLease> = {}): TurnLease => ({
    turnId: randomUUID(),
    replica: 'r1',
    replyTo,
    replyToSeq: 1,
    messageId: randomUUID(),
    attempt: 0,
    expiresAt: new Date(Date.now() + 60000),
    stop: null,
    settling: null,
    ...overrides,
  });
  const reply = (replyTo: string, overrides: Partial<NewReply> = {}): NewReply => ({
    id: randomUUID(),
    turnId: randomUUID(),
    replyTo,
    replyToSeq: 1,
    attempt: 0,
    content: 'an answer',
    status: 'complete',
    finishReason: 'stop',
    ...overrides,
  });

  beforeAll(async () => {
    register.clear();
    moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot(loadConfig({ MONGODB_URI: testMongoUri() })),
        DatabaseModule,
        TestInfraModule,
        SessionModule,
      ],
    }).compile();
    await moduleRef.init();
    sut = moduleRef.get(SessionService);
    connection = moduleRef.get<Connection>(getConnectionToken());
  });
  afterAll(() => moduleRef?.close());

  it('takes the next seq when the counter lags a stored message, instead of failing or overwriting', async () => {
    const { session } = await sut.start(principal(), 'demo');
    const first = await sendAs(session.id, 'one', 'c1');
    // What a lost update to the counter looks like: the counter falls behind the stored seqs.
    await connection.collection('chat_sessions').updateOne({ _id: session.id as never }, { $set: { lastSeq: 0 } });
    const second = await sendAs(session.id, 'two', 'c2');
    expect([first.message.seq, second.message.seq]).toEqual([1, 2]);
    const { messages } = await sut.transcript(session.id, { afterSeq: 0 });
    expect(messages.map((m) => [m.seq, m.content])).toEqual([
      [1, 'one'],
      [2, 'two'],
    ]);
  });

  it('keeps lastActivityAt at the latest message when an earlier write lands last', async () => {
    const { session } = await sut.start(principal(), 'demo');
    const sessions = moduleRef.get(SessionRepository);
    const later = new Date(Date.now() + 60_000);
    const earlier = new Date(Date.now() + 30_000);

    await sessions.allocateSeq(session.id, later);
    await sessions.allocateSeq(session.id, earlier, true);

    const stored = await connection.collection('chat_sessions').findOne({ _id: session.id as never });
    expect([stored?.lastActivityAt, stored?.lastMessageAt, stored?.lastSeq]).toEqual([later, later, 2]);
  });

  it('still owes a turn to a lower-seq message that became visible after a higher one was answered', async () => {
    const { session } = await sut.start(principal(), 'demo');
    const lower = await sendAs(session.id, 'sent first, stored last');
    const higher = await sendAs(session.id, 'sent second');
    expect(lower.message.seq).toBeLessThan(higher.message.seq);
    // The turn loop saw only the higher one (the lower insert was not visible yet) and answered it.
    await sut.answer(session.id, higher.message.id, randomUUID(), 'turn-1');
    expect((await sut.nextPending(session.id))?.id).toBe(lower.message.id);
    expect(await sut.pendingCount(session.id)).toBe(1);
    expect(await sut.owingTurns([session.id])).toEqual([session.id]);
    await sut.answer(session.id, lower.message.id, randomUUID(), 'turn-2');
    expect(await sut.nextPending(session.id)).toBeUndefined();
    expect(await sut.owingTurns([session.id])).toEqual([]);
  });

  it('ends idempotently and refuses user messages to an ended session', async () => {
    const owner = principal();
    const { session } = await sut.start(owner, 'demo');
    await sut.end(owner, session.id);
    await expect(sut.end(owner, session.id)).resolves.toMatchObject({ status: 'ended' });
    await expect(sendAs(session.id, 'late')).rejects.toMatchObject({ code: 'session_ended' });
  });

  it('shows a value that does not decrypt as unreadable, without content, and counts it', async () => {
    const { session } = await sut.start(principal(), 'demo');
    await sendAs(session.id, 'fine');
    await sendAs(session.id, 'damaged');
    await connection
      .collection('messages')
      .updateOne({ sessionId: session.id, seq: 2 }, { $set: { content: 'v1:k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
    const { messages } = await sut.transcript(session.id, { afterSeq: 0 });
    expect(messages.map((m) => [m.content, m.status])).toEqual([
      ['fine', 'complete'],
      ['', 'unreadable'],
    ]);
    expect(await register.getSingleMetricAsString('chatbox_decrypt_failures_total')).toMatch(/key_id="k1"} 1/);
  });

  it('pages a transcript both ways with hasMore, never more than a page', async () => {
    const { session } = await sut.start(principal(), 'demo');
    for (let i = 1; i <= 5; i++) await sendAs(session.id, `m${i}`);
    const seqs = (page: { messages: { seq: number }[]; hasMore: boolean }) => [
      page.messages.map((m) => m.seq),
      page.hasMore,
    ];
    expect(seqs(await sut.transcript(session.id, { limit: 2 }))).toEqual([[4, 5], true]);
    expect(seqs(await sut.transcript(session.id, { beforeSeq: 4, limit: 2 }))).toEqual([[2, 3], true]);
    expect(seqs(await sut.transcript(session.id, { beforeSeq: 2, limit: 2 }))).toEqual([[1], false]);
    expect(seqs(await sut.transcript(session.id, { afterSeq: 0, limit: 3 }))).toEqual([[1, 2, 3], true]);
    expect(seqs(await sut.transcript(session.id, { afterSeq: 3, limit: 3 }))).toEqual([[4, 5], false]);
  });

  it('stores one answer per user message and attempt, whoever writes first, and knows a retried write by its writer', async () => {
    const { session } = await sut.start(principal(), 'demo');
    const { message: question } = await sendAs(session.id, 'q');
    const first = reply(question.id, { content: 'from the turn that was taken over' });
    const second = reply(question.id, { content: 'from its replacement' });
    expect(await sut.storeReply(session.id, first)).toMatchObject({ stored: true, message: { id: first.id } });
    expect(await sut.storeReply(session.id, second)).toEqual({
      stored: false,
      winner: expect.objectContaining({ id: first.id, content: 'from the turn that was taken over' }) as unknown,
    });
    // A write retried by its writer after a lost acknowledgement finds itself.
    expect(await sut.storeReply(session.id, first)).toMatchObject({ stored: true, message: { id: first.id } });
    // The same reply written by another turn (one settling it after a crash) is not that turn's to announce.
    expect(await sut.storeReply(session.id, { ...first, turnId: randomUUID() })).toMatchObject({ stored: false });
    // The next attempt is a different answer.
    expect(await sut.storeReply(session.id, reply(question.id, { attempt: 1 }))).toMatchObject({ stored: true });
    const { messages } = await sut.transcript(session.id, { afterSeq: 0 });
    expect(messages.filter((m) => m.sender === 'ai').map((m) => m.replyTo)).toEqual([question.id, question.id]);
  });

  it('keeps what ai:error said with a reply that failed', async () => {
    const { session } = await sut.start(principal(), 'demo');
    const { message: question } = await sendAs(session.id, 'q');
    const failed = reply(question.id, {
      content: '',
      status: 'failed',
      finishReason: 'error',
      error: { code: 'timeout', message: 'The model did not answer in time' },
    });
    const { message } = (await sut.storeReply(session.id, failed)) as { message: { error?: unknown } };
    expect(message.error).toEqual({ code: 'timeout', message: 'The model did not answer in time', recoverable: true });
  });

  it('records each answer, gives its announcement to one caller (its own again when it asks again), and reopens a message cut short', async () => {
    const { session } = await sut.start(principal(), 'demo');
    const { message: question } = await sendAs(session.id, 'q');
    const [cut, full] = [randomUUID(), randomUUID()];
    // A reply cut by a replica that stopped: the message is owed another answer, under attempt 1.
    expect(await sut.answer(session.id, question.id, cut, 'turn-a', 1)).toBe(true);
    expect(await sut.answer(session.id, question.id, cut, 'turn-b', 1)).toBe(false);
    // The claimer asking again, as after a lost answer: the announcement is still its own to send.
    expect(await sut.answer(session.id, question.id, cut, 'turn-a', 1)).toBe(true);
    expect(await sut.nextPending(session.id)).toMatchObject({ id: question.id, attempt: 1 });
    expect(await sut.answer(session.id, question.id, full, 'turn-c')).toBe(true);
    expect(await sut.answer(session.id, question.id, full, 'turn-d')).toBe(false);
    expect(await sut.nextPending(session.id)).toBeUndefined();
  });

  it('claims no announcement for a user message that does not exist (as after its session was erased)', async () => {
    const { session } = await sut.start(principal(), 'demo');
    const replyId = randomUUID();
    expect(await sut.answer(session.id, randomUUID(), replyId, 'turn-a')).toBe(false);
    expect(await connection.collection('reply_announcements').countDocuments({ _id: replyId as never })).toBe(0);
  });

  it('gives each announcement to exactly one of several callers claiming it at the same moment', async () => {
    const { session } = await sut.start(principal(), 'demo');
    // Several settlers at once: a writer whose lease expired while it was slow, and the replica that took it over.
    for (let round = 0; round < 40; round++) {
      const { message: question } = await sendAs(session.id, `q${round}`);
      const replyId = randomUUID();
      const reopen = round % 2 === 0 ? 1 : undefined;
      const claims = await Promise.all(
        ['turn-a', 'turn-b', 'turn-c', 'turn-d'].map((turnId) =>
          sut.answer(session.id, question.id, replyId, turnId, reopen),
        ),
      );
      expect({ round, announcers: claims.filter(Boolean).length }).toEqual({ round, announcers: 1 });
      if (reopen) {
        expect(await sut.nextPending(session.id)).toMatchObject({ id: question.id, attempt: 1 });
        await sut.answer(session.id, question.id, randomUUID(), 'turn-e');
      }
      expect(await sut.nextPending(session.id)).toBeUndefined();
    }
  });

  it("adds a stored turn's figures to its session once, with the reply", async () => {
    const { session } = await sut.start(principal(), 'demo');
    const { message: question } = await sendAs(session.id, 'q');
    const stats = { tokens: { prompt: 7, completion: 3 }, responseMs: 40, turnMs: 90 };
    const first = reply(question.id, { stats });
    await sut.storeReply(session.id, first);
    await sut.storeReply(session.id, { ...reply(question.id), stats });
    expect(await sut.find(session.id)).toMatchObject({
      tokens: { prompt: 7, completion: 3 },
      responseTime: { count: 1, sumMs: 40, maxMs: 40 },
      turnTime: { count: 1, sumMs: 90, maxMs: 90 },
      messageCount: 2,
    });
  });

  it('lets one turn hold a session: claims, renewals and releases are fenced by the turn id', async () => {
    const { session } = await sut.start(principal(), 'demo');
    const { message } = await sendAs(session.id, 'q');
    const mine = lease(message.id);
    const theirs = lease(message.id);
    expect(await sut.claimTurn(session.id, mine)).toBe(true);
    expect(await sut.claimTurn(session.id, theirs)).toBe(false);
    // A claim tried again (its first answer lost) finds its own lease: still its holder, until the expiry
    // its first try stored (the later one it asked for this time never landed).
    const stored = mine.expiresAt;
    mine.expiresAt = new Date(stored.getTime() + 60_000);
    expect(await sut.claimTurn(session.id, mine)).toBe(true);
    expect(mine.expiresAt).toEqual(stored);
    expect(await sut.takeExpiredTurn(session.id, mine.turnId, theirs)).toBe(false);
    expect(await sut.renewTurn(session.id, theirs.turnId, new Date())).toBeNull();
    expect(await sut.releaseTurn(session.id, theirs.turnId)).toBe(false);

    // Once it expires, another holder replaces it; the old holder's renewals and releases are refused.
    expect(await sut.renewTurn(session.id, mine.turnId, new Date(Date.now() - 1))).not.toBeNull();
    expect(await sut.takeExpiredTurn(session.id, mine.turnId, theirs)).toBe(true);
    expect(await sut.renewTurn(session.id, mine.turnId, new Date(Date.now() + 60000))).toBeNull();
    expect(await sut.releaseTurn(session.id, mine.turnId)).toBe(false);
    expect((await sut.turnLease(session.id))?.turnId).toBe(theirs.turnId);
    expect(await sut.releaseTurn(session.id, theirs.turnId)).toBe(true);
    expect(await sut.turnLease(session.id)).toBeNull();
  });

  it('flags a stop for the running reply only, and only when the messageId given is that reply', async () => {
    const { session } = await sut.start(principal(), 'demo');
    const { message } = await sendAs(session.id, 'q');
    const running = lease(message.id);
    expect(await sut.flagStop(session.id, 'stopped')).toBeNull();
    await sut.claimTurn(session.id, running);
    expect(await sut.flagStop(session.id, 'stopped', randomUUID())).toBeNull();
    expect((await sut.turnLease(session.id))?.stop).toBeNull();
    expect(await sut.flagStop(session.id, 'stopped', running.messageId)).toMatchObject({
      turnId: running.turnId,
      stop: 'stopped',
    });
  });

  it('grows the epoch on every change of owner; of two changes from one epoch exactly one is made', async () => {
    const { session } = await sut.start(principal(), 'demo');
    const before = await sut.find(session.id);
    const takeover = (id: string) =>
      sut.changeOwner(before, { owner: `admin:${id}`, ownerName: id, cause: 'takeover', actor: `admin:${id}` });
    const made = (await Promise.all([takeover('ann'), takeover('bob')])).filter((s) => s !== null);
    expect(made).toHaveLength(1);
    const held = await sut.find(session.id);
    expect(held).toMatchObject({ owner: made[0]?.session.owner, epoch: 1, assisted: true });
    expect(made[0]?.change).toMatchObject({ _id: `${session.id}:1`, epoch: 1, previousOwner: 'ai', cause: 'takeover' });
    expect(sut.toView(held).holder).toEqual({ id: held.owner.slice('admin:'.length), name: held.hold?.adminName });
    // A change based on the epoch before is refused, whoever asks.
    expect(await takeover('cy')).toBeNull();
    const back = await sut.changeOwner(held, { owner: 'ai', cause: 'admin_left', actor: held.owner });
    expect(back?.session).toMatchObject({ owner: 'ai', epoch: 2, hold: null, assisted: true });
    expect(back?.change).toMatchObject({ previousOwner: held.owner, previousOwnerName: held.hold?.adminName });
    expect(sut.toView(await sut.find(session.id))).toMatchObject({ owner: 'ai', epoch: 2, holder: null });
  });

  it('reads the recorded owner when a concurrent write put the old one back, and writes it again', async () => {
    const { session } = await sut.start(principal(), 'demo');
    await sut.changeOwner(await sut.find(session.id), { owner: 'admin:ann', cause: 'takeover', actor: 'admin:ann' });
    // What a read-then-write update that read the session before the change leaves behind.
    await connection
      .collection('chat_sessions')
      .updateOne({ _id: session.id as never }, { $set: { owner: 'ai', epoch: 0, hold: null } });
    expect(await sut.find(session.id)).toMatchObject({ owner: 'admin:ann', epoch: 1, hold: { adminId: 'ann' } });
    expect(await connection.collection('chat_sessions').findOne({ _id: session.id as never })).toMatchObject({
      owner: 'admin:ann',
      epoch: 1,
    });
  });

  it('tells help.requested once per request opened, and owner.changed once per change made', async () => {
    const told: SessionEvent[] = [];
    const events = moduleRef.get(SessionEvents);
    events.on('help.requested', (e) => void told.push(e));
    events.on('owner.changed', (e) => void told.push(e));
    const { session } = await sut.start(principal(), 'demo');
    const ask = () => sut.requestHelp(session.id, { source: 'user', requestedBy: 'u', reason: 'stuck' });
    await ask();
    await ask();
    const before = await sut.find(session.id);
    const change = { owner: 'admin:ann', cause: 'takeover', actor: 'admin:ann' } as const;
    await sut.changeOwner(before, change);
    expect(await sut.changeOwner(before, change)).toBeNull();
    await waitFor(() => told.length >= 2, { what: 'the events' });
    const userId = before.userId;
    expect(told).toEqual([
      { type: 'help.requested', sessionId: session.id, userId, source: 'user', requestedAt: expect.any(Date) as Date },
      {
        type: 'owner.changed',
        sessionId: session.id,
        userId,
        owner: 'admin:ann',
        previousOwner: 'ai',
        cause: 'takeover',
        epoch: 1,
      },
    ]);
  });

  it('writes a change of owner whose maker stopped before writing it, and refuses the change that lost', async () => {
    const { session } = await sut.start(principal(), 'demo');
    const before = await sut.find(session.id);
    // What a replica that died right after recording its takeover leaves behind.
    await connection.collection('owner_changes').insertOne({
      _id: `${session.id}:1`,
      sessionId: session.id,
      epoch: 1,
      owner: 'admin:ann',
      previousOwner: 'ai',
      ownerName: 'Ann',
      cause: 'takeover',
      actor: 'admin:ann',
      at: new Date(),
    } as never);
    expect(await sut.changeOwner(before, { owner: 'admin:bob', cause: 'takeover', actor: 'admin:bob' })).toBeNull();
    expect(sut.toView(await sut.find(session.id))).toMatchObject({
      owner: 'admin:ann',
      epoch: 1,
      holder: { id: 'ann', name: 'Ann' },
    });
  });

  it('does not end a session the sweeper found stale if a replica saw it before the end was written', async () => {
    const repository = moduleRef.get(SessionRepository);
    const { session } = await sut.start(principal(), 'demo');
    const cutoff = new Date(Date.now() + 1000);
    const stale = (await repository.findUnseenSince(cutoff, 1000)).find((s) => s._id === session.id);
    expect(stale).toBeDefined();
    // A device's replica marks it seen between the sweeper's read and its write.
    await repository.markSeen([session.id], new Date(cutoff.getTime() + 1));
    expect(await repository.end(stale!, new Date(), cutoff)).toBe(false);
    expect((await sut.find(session.id)).status).toBe('active');
    expect(await repository.end(stale!, new Date())).toBe(true);
  });
});
