import { randomUUID } from 'node:crypto';
import mongoose, { Connection } from 'mongoose';
import { RetentionSweeper } from '../../src/data-rights/retention-sweeper.service';
import { ObjectStorage } from '../../src/upload/storage/object-storage';
import { ChatClient, signToken } from '../utils/chat-client';
import { readExplain } from '../utils/explain';
import { ChatboxProcess } from '../utils/chatbox-process';
import { startTestApp, testEnv, TestApp } from '../utils/test-app';
import { objectReadable, PNG, uploadFile } from '../utils/uploads';
import { waitFor } from '../utils/wait-for';

const DAY_MS = 86_400_000;

interface Counted {
  sessions: number;
  messages: number;
  shares: number;
}

/** What the database holds of one session. */
async function heldOf(db: Connection, sessionId: string): Promise<Counted> {
  return {
    sessions: await db.collection('chat_sessions').countDocuments({ _id: sessionId as never }),
    messages: await db.collection('messages').countDocuments({ sessionId }),
    shares: await db.collection('shares').countDocuments({ sessionId }),
  };
}

/** A session with a question answered and a share link, ended (or left active). */
async function conversation(baseUrl: string, token: string, client: ChatClient, end: boolean): Promise<string> {
  const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
  const { messageId } = await client.ok<{ messageId: string }>('message:send', {
    sessionId,
    clientMessageId: randomUUID(),
    content: 'hello',
  });
  await client.waitForEvent('ai:end', (e) => e.replyTo === messageId);
  const share = await fetch(`${baseUrl}/chatbox/sessions/${sessionId}/shares`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{}',
  });
  expect(share.status).toBe(201);
  if (end) await client.ok('session:end', { sessionId });
  return sessionId;
}

describe('data retention', () => {
  let t: TestApp;
  let db: Connection;
  const clients: ChatClient[] = [];

  beforeAll(async () => {
    // RETENTION_DAYS unset: no pass runs by itself; the test runs them, at the times it chooses.
    t = await startTestApp({ DEMO_DELTA_INTERVAL_MS: '0' });
    db = await mongoose.createConnection(t.env.MONGODB_URI).asPromise();
  });
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await db.close();
    await t.close();
  });

  const user = async () => {
    const token = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` });
    const client = await ChatClient.connect(t.baseUrl, token);
    clients.push(client);
    return { token, client };
  };
  const endedAt = async (sessionId: string) =>
    (await db.collection<{ _id: string; endedAt: Date }>('chat_sessions').findOne({ _id: sessionId }))!.endedAt;

  it('deletes only the sessions that ended before the cut-off, with their messages and links, whoever they belong to', async () => {
    const uma = await user();
    const other = await user();
    const old = await conversation(t.baseUrl, uma.token, uma.client, true);
    const othersOld = await conversation(t.baseUrl, other.token, other.client, true);
    const oldestEnd = Math.max((await endedAt(old)).getTime(), (await endedAt(othersOld)).getTime());
    // Ended strictly later: exactly at the cut-off, which is kept.
    await waitFor(() => Date.now() > oldestEnd, { what: 'the clock to move on' });
    const atCutoff = await conversation(t.baseUrl, uma.token, uma.client, true);
    const active = await conversation(t.baseUrl, other.token, other.client, false);
    const kept = { atCutoff: await heldOf(db, atCutoff), active: await heldOf(db, active) };
    expect(kept.atCutoff).toEqual({ sessions: 1, messages: 2, shares: 1 });

    // 30 days after the third session ended, with 30 days of retention.
    const now = new Date((await endedAt(atCutoff)).getTime() + 30 * DAY_MS);
    expect(await t.app.get(RetentionSweeper).sweep(30, now)).toBe(2);

    for (const gone of [old, othersOld])
      expect(await heldOf(db, gone)).toEqual({ sessions: 0, messages: 0, shares: 0 });
    expect(await heldOf(db, atCutoff)).toEqual(kept.atCutoff);
    expect(await heldOf(db, active)).toEqual(kept.active);
    expect(await t.app.get(RetentionSweeper).sweep(30, now)).toBe(0);
  });

  it('deletes files never sent once they were uploaded before the cut-off, and keeps those sent or newer', async () => {
    const { token, client } = await user();
    const upload = async () => (await uploadFile(t.baseUrl, token, PNG, 'p.png')).body.fileId;
    const [oldUnsent, oldSent, newUnsent] = [await upload(), await upload(), await upload()];
    const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
    await client.ok('message:send', { sessionId, clientMessageId: randomUUID(), content: 'a', fileIds: [oldSent] });
    const longAgo = new Date(Date.now() - 40 * DAY_MS);
    await db
      .collection('files')
      .updateMany({ _id: { $in: [oldUnsent, oldSent] as never[] } }, { $set: { createdAt: longAgo } });
    const records = await db
      .collection<{ _id: string; storageKey: string }>('files')
      .find({ _id: { $in: [oldUnsent, oldSent, newUnsent] } })
      .toArray();
    const keys = Object.fromEntries(records.map((f) => [f._id, f.storageKey]));
    const stored = (id: string) => objectReadable(t.app.get(ObjectStorage), keys[id]);

    await t.app.get(RetentionSweeper).sweep(30);

    const left = async (id: string) => [
      (await db.collection('files').countDocuments({ _id: id as never })) === 1,
      await stored(id),
    ];
    expect(await left(oldUnsent)).toEqual([false, false]);
    expect(await left(oldSent)).toEqual([true, true]);
    expect(await left(newUnsent)).toEqual([true, true]);
  });

  it('finds the sessions to delete through the endedAt index', async () => {
    const keys = (await db.collection('chat_sessions').listIndexes().toArray()).map((i) =>
      JSON.stringify((i as { key: unknown }).key),
    );
    expect(keys).toContain('{"endedAt":1}');
    const explained = readExplain(
      await db
        .collection('chat_sessions')
        .find({ endedAt: { $lt: new Date() } }, { projection: { _id: 1 } })
        .sort({ endedAt: 1 })
        .limit(100)
        .explain('executionStats'),
    );
    // FerretDB v1 hands no range to its backend and reads the collection (see the README); MongoDB must not.
    if (explained.server === 'mongodb') {
      expect(explained.stages.map((s) => s.keyPattern)).toContainEqual({ endedAt: 1 });
      expect(explained.stages.map((s) => s.stage)).not.toContain('COLLSCAN');
    }
  });
});

describe('data retention, on two service processes', () => {
  it('sweeps from one replica only, pass after pass', async () => {
    const env = testEnv({
      REDIS_URL: process.env.CHATBOX_TEST_REDIS_URL,
      RETENTION_DAYS: '1',
      RETENTION_SWEEP_INTERVAL_MS: '200',
      DEMO_DELTA_INTERVAL_MS: '0',
    });
    const db = await mongoose.createConnection(env.MONGODB_URI).asPromise();
    const replicas = [new ChatboxProcess(env), new ChatboxProcess(env)];
    const clients: ChatClient[] = [];
    try {
      const urls = await Promise.all(replicas.map((r) => r.listening()));
      const token = await signToken(env.JWT_SECRET, { sub: `u-${randomUUID()}` });
      const client = await ChatClient.connect(urls[1], token);
      clients.push(client);
      const old = await conversation(urls[1], token, client, true);
      const recent = await conversation(urls[1], token, client, true);
      // Ended two days ago, as far as the sweepers can tell.
      await db
        .collection('chat_sessions')
        .updateOne({ _id: old as never }, { $set: { endedAt: new Date(Date.now() - 2 * DAY_MS) } });

      await waitFor(async () => (await heldOf(db, old)).sessions === 0, { what: 'the old session to be deleted' });
      expect(await heldOf(db, old)).toEqual({ sessions: 0, messages: 0, shares: 0 });
      expect(await heldOf(db, recent)).toEqual({ sessions: 1, messages: 2, shares: 1 });

      const metric = async (url: string, name: string) => {
        const text = await (
          await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${env.METRICS_TOKEN}` } })
        ).text();
        return Number(
          text
            .split('\n')
            .find((l) => l.startsWith(`${name} `))
            ?.split(' ')[1] ?? NaN,
        );
      };
      const counts = async (name: string) => Promise.all(urls.map((url) => metric(url, name)));
      // Both replicas have had several intervals: only one of them swept in any.
      const sweeps = await waitFor(
        async () => {
          const each = await counts('chatbox_retention_sweeps_total');
          return each[0] + each[1] >= 10 ? each : undefined;
        },
        { what: 'ten passes' },
      );
      expect(sweeps.filter((n) => n === 0)).toHaveLength(1);
      expect((await counts('chatbox_retention_erased_sessions_total')).sort()).toEqual([0, 1]);
    } finally {
      clients.forEach((c) => c.close());
      await Promise.all(replicas.map((r) => r.stop()));
      await db.close();
    }
  });
});
