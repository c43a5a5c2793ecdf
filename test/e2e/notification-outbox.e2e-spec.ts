import { randomBytes, randomUUID } from 'node:crypto';
import mongoose, { Connection } from 'mongoose';
import { AppConfig } from '../../src/config/app-config';
import { KEEP_ENDED_MS, NotificationDispatcher } from '../../src/notification/dispatcher.service';
import { Delivery, OutboxRepository } from '../../src/notification/outbox.repository';
import {
  NotificationClaimDoc,
  NotificationDeliveryDoc,
} from '../../src/notification/schemas/notification-delivery.schema';
import { SessionService } from '../../src/session/session.service';
import { HttpReceiver } from '../servers/http-receiver';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp, testMongoUri } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

const MAX_ATTEMPTS = 3;

describe('the notification outbox, on two replicas sharing one database', () => {
  const hooks = new HttpReceiver();
  let one: TestApp;
  let two: TestApp;
  let db: Connection;

  beforeAll(async () => {
    await hooks.start();
    const shared = {
      MONGODB_URI: testMongoUri(),
      WEBHOOK_URLS: `${hooks.baseUrl}/hooks`,
      WEBHOOK_SECRET: randomBytes(32).toString('base64'),
      // Polled every ten minutes: only the drains the tests run make attempts.
      NOTIFY_POLL_MS: '600000',
      NOTIFY_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      NOTIFY_RETRY_BASE_MS: '20',
      NOTIFY_RETRY_MAX_MS: '50',
    };
    one = await startTestApp(shared);
    two = await startTestApp({ ...shared, JWT_SECRET: one.env.JWT_SECRET, ENCRYPTION_KEY: one.env.ENCRYPTION_KEY });
    db = await mongoose.createConnection(shared.MONGODB_URI).asPromise();
  });
  beforeEach(async () => {
    hooks.reset();
    await Promise.all([deliveries().deleteMany({}), claims().deleteMany({})]);
  });
  afterAll(async () => {
    await db.close();
    await one.close();
    await two.close();
    await hooks.stop();
  });

  const deliveries = () => db.collection<NotificationDeliveryDoc>('notification_outbox');
  const claims = () => db.collection<NotificationClaimDoc>('notification_claims');
  const stored = async (id: string) => {
    const delivery = await deliveries().findOne({ _id: id });
    if (!delivery) throw new Error(`delivery ${id} is not stored`);
    return delivery;
  };
  const received = (id: string) => hooks.requests.filter((r) => r.headers['chatbox-delivery'] === id);
  const limits = (app: TestApp) => app.app.get(AppConfig).notify;

  /** A pending webhook delivery, due now, as NotificationService.raise stores it (raising would kick a drain). */
  const pending = async (overrides: Partial<Delivery> = {}): Promise<Delivery> => {
    const now = new Date();
    const delivery: Delivery = {
      _id: `test:${randomUUID()}:once:webhook`,
      event: 'test',
      channel: 'webhook',
      data: { detail: 'outbox test' },
      occurredAt: now,
      sessionId: null,
      status: 'pending',
      attempts: 0,
      dueAt: now,
      lastError: null,
      endedAt: null,
      ...overrides,
    };
    expect(await one.app.get(OutboxRepository).insert(delivery)).toBe(true);
    return delivery;
  };

  it('a claim made from a stale copy of a delivery makes no attempt', async () => {
    const { _id } = await pending();
    const stale = await one.app.get(OutboxRepository).findById(_id);
    if (!stale) throw new Error('the delivery is not stored');
    expect(stale).toMatchObject({ status: 'pending', attempts: 0 });

    // The other replica makes attempt 0 in full while this one holds its copy.
    const other = two.app.get(OutboxRepository);
    const copy = await other.findById(_id);
    if (!copy) throw new Error('the delivery is not stored');
    expect(await other.claim(copy, 'replica-two', new Date(), limits(two))).toBe(true);
    await other.advance(copy, { status: 'sent', endedAt: new Date(), lastError: null });
    await other.dropClaim(copy);
    // Its claim is gone: the unique insert alone would grant attempt 0 again; only the re-read refuses it.
    expect(await claims().countDocuments({ _id: `${_id}:0` })).toBe(0);

    expect(await one.app.get(OutboxRepository).claim(stale, 'replica-one', new Date(), limits(one))).toBe(false);
    expect(await stored(_id)).toMatchObject({ status: 'sent', attempts: 1, lastError: null });
    // The refused claim is not left behind.
    expect(await claims().countDocuments({})).toBe(0);
  });

  it('a claim whose delivery cannot be read again is withdrawn, not left to count the attempt as made', async () => {
    const delivery = await pending();
    const outbox = one.app.get(OutboxRepository);
    const read = jest.spyOn(outbox, 'findById').mockRejectedValueOnce(new Error('the database is unreachable'));
    try {
      await expect(outbox.claim(delivery, 'replica-one', new Date(), limits(one))).rejects.toThrow('unreachable');
    } finally {
      read.mockRestore();
    }

    expect(await claims().countDocuments({})).toBe(0);
    expect(await outbox.claim(delivery, 'replica-one', new Date(), limits(one))).toBe(true);
  });

  it('two replicas draining one backlog send each delivery once', async () => {
    const backlog: string[] = [];
    for (let i = 0; i < 30; i++) backlog.push((await pending())._id);
    const dispatchers = [one.app.get(NotificationDispatcher), two.app.get(NotificationDispatcher)];
    const outbox = one.app.get(OutboxRepository);

    for (let round = 0; round < 10 && (await outbox.countPending()) > 0; round++) {
      await Promise.all(dispatchers.map((d) => d.drain()));
    }

    expect(await outbox.countPending()).toBe(0);
    const ids = hooks.requests.map((r) => r.headers['chatbox-delivery']);
    expect([...ids].sort()).toEqual([...backlog].sort());
    const ended = await deliveries()
      .find({ _id: { $in: backlog } })
      .toArray();
    expect(ended).toHaveLength(30);
    expect(ended.filter((d) => d.status !== 'sent' || d.attempts !== 1)).toEqual([]);
  });

  it('an expired claim on the last attempt ends the delivery failed', async () => {
    const { _id } = await pending({ attempts: MAX_ATTEMPTS - 1 });
    // Left by a replica that stopped mid-attempt.
    await claims().insertOne({
      _id: `${_id}:${MAX_ATTEMPTS - 1}`,
      replica: 'stopped-replica',
      expiresAt: new Date(Date.now() - 1000),
    });

    await one.app.get(NotificationDispatcher).drain();

    expect(await stored(_id)).toMatchObject({
      status: 'failed',
      attempts: MAX_ATTEMPTS,
      lastError: 'the replica making the attempt stopped',
    });
    expect(hooks.requests).toEqual([]);
    expect(await claims().countDocuments({})).toBe(0);
  });

  it('an expired claim on an earlier attempt counts that attempt as made, and the next drain delivers it', async () => {
    const { _id } = await pending();
    await claims().insertOne({ _id: `${_id}:0`, replica: 'stopped-replica', expiresAt: new Date(Date.now() - 1000) });
    const dispatcher = one.app.get(NotificationDispatcher);

    await dispatcher.drain();
    expect(await stored(_id)).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: 'the replica making the attempt stopped',
    });
    expect(hooks.requests).toEqual([]);

    await dispatcher.drain();
    expect(await stored(_id)).toMatchObject({ status: 'sent', attempts: 2, lastError: null });
    expect(received(_id)).toHaveLength(1);
    expect(await claims().countDocuments({})).toBe(0);
  });

  it('an escalation whose session cannot be read is retried, not cancelled', async () => {
    const client = await ChatClient.connect(
      one.baseUrl,
      await signToken(one.env.JWT_SECRET, { sub: `u-${randomUUID()}` }),
    );
    try {
      const { sessionId } = await client.ok<{ sessionId: string }>('help:request', { reason: 'help' });
      // The request's own notification, delivered by the drain its raise kicked on replica one; replica two
      // makes the escalation's attempts, so that drain cannot take it.
      await waitFor(async () => (await deliveries().findOne({ sessionId, status: 'sent' })) ?? undefined, {
        what: 'the help.requested webhook',
      });
      const sessions = two.app.get(SessionService);
      const session = await sessions.find(sessionId);
      if (!session.help) throw new Error('the help request is not stored');
      const requestedAt = new Date(session.help.requestedAt).toISOString();
      const { _id } = await pending({
        _id: `help.escalated:${sessionId}:${requestedAt}:1:once:webhook`,
        event: 'help.escalated',
        sessionId,
        data: { sessionId, userId: session.userId, source: 'user', reason: 'help', requestedAt, waitingMs: 1000 },
      });
      const dispatcher = two.app.get(NotificationDispatcher);

      // Only this session's reads fail, so a sweep running meanwhile cannot take the fault instead.
      const read = sessions.find.bind(sessions);
      const find = jest
        .spyOn(sessions, 'find')
        .mockImplementation((id: string) =>
          id === sessionId ? Promise.reject(new Error('the database is unreachable')) : read(id),
        );
      try {
        await dispatcher.drain();
        expect(find).toHaveBeenCalledWith(sessionId);
      } finally {
        find.mockRestore();
      }
      const retried = await stored(_id);
      expect(retried).toMatchObject({ status: 'pending', attempts: 1 });
      expect(retried.lastError).toContain('the database is unreachable');
      expect(received(_id)).toEqual([]);

      await waitFor(() => Date.now() >= new Date(retried.dueAt).getTime(), { what: 'the retry to be due' });
      await dispatcher.drain();
      expect(await stored(_id)).toMatchObject({ status: 'sent', attempts: 2, lastError: null });
      expect(received(_id)).toHaveLength(1);
    } finally {
      client.close();
    }
  });

  it('prunes deliveries that ended before the cut-off and claims expired before theirs, and nothing pending', async () => {
    const now = Date.now();
    const day = 24 * 3600 * 1000;
    await pending({ status: 'sent', attempts: 1, endedAt: new Date(now - 31 * day) });
    await pending({ status: 'failed', attempts: 6, endedAt: new Date(now - 40 * day) });
    const recent = await pending({ status: 'sent', attempts: 1, endedAt: new Date(now - day) });
    const waiting = await pending({ occurredAt: new Date(now - 60 * day), dueAt: new Date(now - 60 * day) });
    await claims().insertMany([
      { _id: 'stale:0', replica: 'r', expiresAt: new Date(now - 2 * 3600 * 1000) },
      { _id: 'fresh:0', replica: 'r', expiresAt: new Date(now - 60 * 1000) },
    ]);

    const pruned = await one.app
      .get(OutboxRepository)
      .prune(new Date(now - KEEP_ENDED_MS), new Date(now - 3600 * 1000));

    expect(pruned).toEqual({ deliveries: 2, claims: 1 });
    const left = await deliveries().find({}).toArray();
    expect(left.map((d) => d._id).sort()).toEqual([recent._id, waiting._id].sort());
    expect((await claims().find({}).toArray()).map((c) => c._id)).toEqual(['fresh:0']);
  });
});
