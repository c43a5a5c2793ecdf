import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Global, Module } from '@nestjs/common';
import { getConnectionToken } from '@nestjs/mongoose';
import { Test, TestingModule } from '@nestjs/testing';
import { Connection, mongo } from 'mongoose';
import { register } from 'prom-client';
import { ConfigModule } from '../../src/config/config.module';
import { loadConfig } from '../../src/config/load-config';
import { LeadershipStore } from '../../src/coordination/leadership.store';
import { MemoryLeadershipStore } from '../../src/coordination/memory/memory-leadership.store';
import { DatabaseModule } from '../../src/database/database.module';
import { chatboxMetricProviders } from '../../src/metrics/chatbox.metrics';
import {
  CHECKPOINT_COLLECTION,
  LEDGER_COLLECTION,
  READ_BATCH,
  runGoImport,
} from '../../src/migration/go-chatbox/go-import';
import { importedMessageId, importedSessionId } from '../../src/migration/go-chatbox/go-session-converter';
import { SessionErasureService } from '../../src/session/session-erasure.service';
import { SessionModule } from '../../src/session/session.module';
import { SessionService } from '../../src/session/session.service';
import { ShareService } from '../../src/session/share.service';
import {
  encryptLikeGo,
  GO_KEY,
  goSession,
  GoSessionDoc,
  goShareToken,
  PlainGoMessage,
} from '../fixtures/go-chatbox/go-fixtures';
import { startOwnFerretDb } from '../servers/own-ferretdb';
import { PROJECT_ROOT } from '../setup/test-env';
import { randomKey, testMongoUri } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

@Global()
@Module({
  providers: [...chatboxMetricProviders, { provide: LeadershipStore, useClass: MemoryLeadershipStore }],
  exports: [...chatboxMetricProviders, LeadershipStore],
})
class TestInfraModule {}

interface Report {
  done: true;
  dryRun: boolean;
  resumedAfter: string | null;
  sessions: { read: number; imported: number; created: number; skipped: number; previouslyImported: number };
  messages: { read: number; imported: number; created: number; skipped: number };
  shares: { imported: number; created: number };
  skippedInAll: { sessions: number; messages: number };
}
interface Skipped {
  goSessionId: string;
  message?: number;
  reason: string;
}

const tag = randomBytes(4).toString('hex');
// The Go service's database and Chatbox's: two databases of one server, as an operator would run them.
const goUri = testMongoUri(`go_chat_${tag}`);
const chatboxUri = testMongoUri(`go_import_${tag}`);
const CHATBOX_KEY = randomKey();
const ENV = { NODE_ENV: 'test', MONGODB_URI: chatboxUri, ENCRYPTION_KEY: CHATBOX_KEY, GO_ENCRYPTION_KEY: GO_KEY };

/** What a message should read as in Chatbox: its text, then the file link without its signed query. */
const expectedText = (m: PlainGoMessage) => [m.text, m.fileUrl].filter((p) => p).join('\n');

async function runImport(
  argv: string[],
  env: NodeJS.ProcessEnv = ENV,
  sourceClient?: (uri: string) => mongo.MongoClient,
) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runGoImport(argv, env, { out: (l) => out.push(l), err: (l) => err.push(l) }, sourceClient);
  const lines = out.map((l) => JSON.parse(l) as { done?: true; skipped?: Skipped });
  return {
    code,
    err,
    report: lines.find((l) => l.done) as Report | undefined,
    skipped: lines.flatMap((l) => (l.skipped ? [l.skipped] : [])),
  };
}

describe('npm run migrate:go-chatbox', () => {
  let moduleRef: TestingModule;
  let sessions: SessionService;
  let shares: ShareService;
  let erasure: SessionErasureService;
  let chatbox: Connection;
  let goClient: mongo.MongoClient;
  let goSessions: mongo.Collection<GoSessionDoc>;

  /** Every document Chatbox holds, by collection, in _id order. */
  const snapshot = async () => {
    const collections = ['chat_sessions', 'messages', 'shares'];
    const entries = await Promise.all(
      collections.map(async (name) => [name, await chatbox.db!.collection(name).find().sort({ _id: 1 }).toArray()]),
    );
    return Object.fromEntries(entries) as Record<string, Record<string, unknown>[]>;
  };

  beforeAll(async () => {
    register.clear();
    moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot(loadConfig({ MONGODB_URI: chatboxUri, ENCRYPTION_KEY: CHATBOX_KEY })),
        DatabaseModule,
        TestInfraModule,
        SessionModule,
      ],
    }).compile();
    await moduleRef.init();
    sessions = moduleRef.get(SessionService);
    shares = moduleRef.get(ShareService);
    erasure = moduleRef.get(SessionErasureService);
    chatbox = moduleRef.get<Connection>(getConnectionToken());
    goClient = await new mongo.MongoClient(goUri).connect();
    goSessions = goClient.db().collection<GoSessionDoc>('sessions');
  });
  afterAll(async () => {
    await goClient?.close();
    await moduleRef?.close();
  });
  beforeEach(async () => {
    await goSessions.deleteMany({});
    await Promise.all(
      ['chat_sessions', 'messages', 'shares', CHECKPOINT_COLLECTION, LEDGER_COLLECTION].map((c) =>
        chatbox.db!.collection(c).deleteMany({}),
      ),
    );
  });

  it('imports every session, message, name and decrypted content, in order, with senders, models, times and assistance flags', async () => {
    const fixtures = Array.from({ length: 24 }, (_, n) => goSession(n));
    await goSessions.insertMany(fixtures.map((f) => f.doc));
    const messageTotal = fixtures.reduce((sum, f) => sum + f.plain.length, 0);

    const { code, report, skipped } = await runImport(['--from', goUri, '--batch', '7']);

    expect(skipped).toEqual([]);
    expect(code).toBe(0);
    expect(report).toMatchObject({
      dryRun: false,
      resumedAfter: null,
      sessions: { read: 24, imported: 24, created: 24, skipped: 0 },
      messages: { read: messageTotal, imported: messageTotal, created: messageTotal, skipped: 0 },
      shares: { imported: 4, created: 4 },
    });
    for (const { doc, plain } of fixtures) {
      const id = importedSessionId(doc._id);
      const view = await sessions.view(id);
      const endedAt = doc.endTs ?? doc.lastActivity!;
      expect(view).toMatchObject({
        name: doc.nm === '' ? null : doc.nm,
        status: 'ended',
        modelId: doc.modelId || 'gpt-4',
        startedAt: doc.ts.toISOString(),
        lastActivityAt: doc.lastActivity!.toISOString(),
        endedAt: endedAt.toISOString(),
        messageCount: plain.length,
        lastSeq: plain.length,
        assisted: doc.adminAssisted,
        owner: 'ai',
        holder: null,
        help: null,
      });
      const stored = await chatbox.db!.collection('chat_sessions').findOne({ _id: id as never });
      expect(stored).toMatchObject({
        userId: doc.uid,
        helpRequests: doc.helpRequested ? 1 : 0,
        totalTokens: doc.totalTokens,
        durationMs: endedAt.getTime() - doc.ts.getTime(),
        activeKey: `ended:${id}`,
      });
      const { messages } = await sessions.transcript(id, { afterSeq: 0 });
      expect(messages.map((m) => [m.seq, m.sender, m.content, m.createdAt, m.status])).toEqual(
        plain.map((m, i) => [i + 1, m.sender, expectedText(m), m.ts.toISOString(), 'complete']),
      );
      for (const m of messages) {
        if (m.sender === 'ai') expect(m.model).toBe(doc.modelId || 'gpt-4');
        if (m.sender === 'admin') expect(m.senderName).toBe(doc.assistingAdminName);
        if (m.sender === 'user') expect(m.senderId).toBe(doc.uid);
        expect(m.content).not.toContain('X-Amz-Signature');
      }
    }
    // The Go service's share tokens open the same conversations, and expire after the default 30 days.
    for (const { doc, plain } of fixtures.filter((f) => f.doc.shareToken)) {
      const shared = await shares.view(doc.shareToken!);
      expect(shared.messages.map((m) => m.content)).toEqual(plain.map(expectedText));
      const record = await chatbox.db!.collection('shares').findOne({ sessionId: importedSessionId(doc._id) });
      const days = ((record!.expiresAt as Date).getTime() - (record!.createdAt as Date).getTime()) / 86_400_000;
      expect(days).toBe(30);
    }
    await expect(shares.view(goShareToken(999))).rejects.toMatchObject({ code: 'not_found' });
  });

  it('changes nothing when run a second time', async () => {
    await goSessions.insertMany(Array.from({ length: 12 }, (_, n) => goSession(n).doc));
    expect((await runImport(['--from', goUri])).code).toBe(0);
    const before = await snapshot();

    const second = await runImport(['--from', goUri]);
    // With --reimport every session is written again, to the same values.
    const third = await runImport(['--from', goUri, '--reimport']);

    expect(second.code).toBe(0);
    expect(second.report).toMatchObject({
      resumedAfter: null,
      sessions: { imported: 0, previouslyImported: 12, created: 0 },
      messages: { created: 0 },
      shares: { created: 0 },
    });
    expect(third.code).toBe(0);
    expect(third.report).toMatchObject({
      sessions: { imported: 12, previouslyImported: 0, created: 0 },
      messages: { created: 0 },
      shares: { created: 0 },
    });
    expect(await snapshot()).toEqual(before);
  });

  it('brings back no session erased and no share link revoked in Chatbox since an earlier run, unless --reimport', async () => {
    const fixtures = Array.from({ length: 10 }, (_, n) => goSession(n));
    await goSessions.insertMany(fixtures.map((f) => f.doc));
    expect((await runImport(['--from', goUri])).code).toBe(0);
    const principal = (uid: string) => ({ userId: uid, roles: [], isAdmin: false, exp: 0 });
    // Session 4 (shared) erased, as a user's data-rights request or the retention sweep does; session 9's link revoked.
    const [erased, revoked, active] = [fixtures[4], fixtures[9], fixtures[0]];
    await erasure.erase(importedSessionId(erased.doc._id));
    const [link] = await shares.list(principal(revoked.doc.uid), importedSessionId(revoked.doc._id));
    await shares.revoke(principal(revoked.doc.uid), importedSessionId(revoked.doc._id), link.id);
    // Meanwhile the Go service, still running until the switch, got a message in the erased session and another.
    const late = new Date(Date.UTC(2026, 0, 1));
    for (const { doc } of [erased, active]) {
      await goSessions.updateOne(
        { _id: doc._id },
        {
          $push: { msgs: { content: encryptLikeGo('one more'), ts: late, sender: 'user' } },
          $set: { lastActivity: late },
        },
      );
    }

    const second = await runImport(['--from', goUri]);

    await expect(sessions.view(importedSessionId(erased.doc._id))).rejects.toMatchObject({ code: 'not_found' });
    expect(
      await chatbox.db!.collection('messages').countDocuments({ sessionId: importedSessionId(erased.doc._id) }),
    ).toBe(0);
    await expect(shares.view(erased.doc.shareToken!)).rejects.toMatchObject({ code: 'not_found' });
    await expect(shares.view(revoked.doc.shareToken!)).rejects.toMatchObject({ code: 'not_found' });
    expect(second.code).toBe(0);
    expect(second.report).toMatchObject({ sessions: { read: 10, imported: 1, previouslyImported: 9, created: 0 } });
    const caughtUp = await sessions.transcript(importedSessionId(active.doc._id), { afterSeq: 0 });
    expect(caughtUp.messages.map((m) => m.content)).toEqual([...active.plain.map(expectedText), 'one more']);

    // Asked for, the erased session comes back whole; the revoked link stays revoked.
    const third = await runImport(['--from', goUri, '--reimport']);

    expect(third.code).toBe(0);
    expect(third.report).toMatchObject({ sessions: { imported: 10, previouslyImported: 0, created: 1 } });
    const back = await sessions.transcript(importedSessionId(erased.doc._id), { afterSeq: 0 });
    expect(back.messages.map((m) => m.content)).toEqual([...erased.plain.map(expectedText), 'one more']);
    await expect(shares.view(revoked.doc.shareToken!)).rejects.toMatchObject({ code: 'not_found' });
  });

  it.each([
    ['a run after the Go service kept writing', [], { read: 10, previouslyImported: 7 }],
    // Sharing touches no lastActivity: a catch-up reads every shared session, and looks only at those imported before.
    ['a catch-up with --since', ['--since', '2026-01-01T00:00:00Z'], { read: 4, previouslyImported: 1 }],
  ])(
    'writes the share links added or changed in the Go service since an earlier run, in %s, except for an erased session',
    async (_what, since, counted) => {
      const fixtures = Array.from({ length: 10 }, (_, n) => goSession(n));
      await goSessions.insertMany(fixtures.map((f) => f.doc));
      expect((await runImport(['--from', goUri])).code).toBe(0);
      const principal = (uid: string) => ({ userId: uid, roles: [], isAdmin: false, exp: 0 });
      const [added, changed, erased, revoked] = [fixtures[2], fixtures[4], fixtures[3], fixtures[9]];
      await erasure.erase(importedSessionId(erased.doc._id));
      const [link] = await shares.list(principal(revoked.doc.uid), importedSessionId(revoked.doc._id));
      await shares.revoke(principal(revoked.doc.uid), importedSessionId(revoked.doc._id), link.id);
      // Shared in the Go service since: session 2 for the first time, 4 and 9 again under another token
      // (a restored backup, say), and 3, which Chatbox has erased meanwhile.
      const token = (n: number) => goShareToken(100 + n);
      for (const n of [2, 3, 4, 9])
        await goSessions.updateOne({ _id: fixtures[n].doc._id }, { $set: { shareToken: token(n) } });
      const before = Date.now();

      const second = await runImport(['--from', goUri, ...since]);

      expect(second.skipped).toEqual([]);
      expect(second.code).toBe(0);
      expect(second.report).toMatchObject({
        sessions: { ...counted, imported: 3, created: 0 },
        messages: { created: 0 },
        shares: { imported: 3, created: 3 },
      });
      expect((await shares.view(token(2))).messages.map((m) => m.content)).toEqual(added.plain.map(expectedText));
      expect((await shares.view(token(4))).messages.map((m) => m.content)).toEqual(changed.plain.map(expectedText));
      // The old token no longer opens it, as in the Go service, where a session has one token.
      await expect(shares.view(changed.doc.shareToken!)).rejects.toMatchObject({ code: 'not_found' });
      const renewed = await chatbox.db!.collection('shares').findOne({ sessionId: importedSessionId(changed.doc._id) });
      expect((renewed!.createdAt as Date).getTime()).toBeGreaterThanOrEqual(before);
      expect(((renewed!.expiresAt as Date).getTime() - (renewed!.createdAt as Date).getTime()) / 86_400_000).toBe(30);
      // A link revoked in Chatbox stays revoked; an erased session stays erased, with no link.
      await expect(shares.view(token(9))).rejects.toMatchObject({ code: 'not_found' });
      await expect(shares.view(token(3))).rejects.toMatchObject({ code: 'not_found' });
      await expect(sessions.view(importedSessionId(erased.doc._id))).rejects.toMatchObject({ code: 'not_found' });
      const state = await snapshot();

      const third = await runImport(['--from', goUri, ...since]);

      expect(third.code).toBe(0);
      expect(third.report).toMatchObject({ sessions: { imported: 0 }, shares: { created: 0 } });
      expect(await snapshot()).toEqual(state);
    },
  );

  it('reports a corrupt message and skips it while the rest of its session, and every other session, imports', async () => {
    const { doc, plain } = goSession(4, { messages: 5 });
    const tampered = Buffer.from(doc.msgs[2].content, 'base64');
    tampered[tampered.length - 1] ^= 0xff;
    doc.msgs[2].content = tampered.toString('base64');
    (doc.msgs as unknown[])[3] = { content: 'no time', sender: 'user' };
    const otherKey = encryptLikeGo('under another key', 'k'.repeat(32));
    const bad = [
      { ...goSession(5).doc, uid: undefined },
      { ...goSession(6).doc, ts: 'yesterday' },
      { ...goSession(7).doc, msgs: { 0: 'not an array' } },
      { ...goSession(8).doc, _id: new mongo.ObjectId() },
    ];
    const fine = goSession(9);
    fine.doc.msgs.push({ content: otherKey, ts: new Date(), sender: 'bot' });
    await goSessions.insertMany([doc, ...bad, fine.doc] as unknown as GoSessionDoc[]);

    const { code, report, skipped } = await runImport(['--from', goUri]);

    expect(code).toBe(1);
    const decryptFailure =
      'content looks encrypted but does not decrypt with GO_ENCRYPTION_KEY (corrupt, or another key)';
    expect(skipped).toEqual(
      expect.arrayContaining([
        { goSessionId: String(bad[3]._id), reason: '_id is not a string' },
        { goSessionId: doc._id, message: 2, reason: decryptFailure },
        { goSessionId: doc._id, message: 3, reason: 'ts is missing or not a date' },
        { goSessionId: bad[0]._id, reason: 'uid is missing, not a string, or longer than 128 characters' },
        { goSessionId: bad[1]._id, reason: 'ts (the start time) is missing or not a date' },
        { goSessionId: bad[2]._id, reason: 'msgs is not an array' },
        {
          goSessionId: fine.doc._id,
          message: fine.plain.length,
          reason: 'sender "bot" is not user, ai, admin or system',
        },
      ]),
    );
    expect(skipped).toHaveLength(7);
    expect(report).toMatchObject({ sessions: { read: 6, imported: 2, skipped: 4 } });
    const { messages } = await sessions.transcript(importedSessionId(doc._id), { afterSeq: 0 });
    expect(messages.map((m) => [m.seq, m.content])).toEqual([
      [1, expectedText(plain[0])],
      [2, expectedText(plain[1])],
      [5, expectedText(plain[4])],
    ]);
    expect(await sessions.view(importedSessionId(doc._id))).toMatchObject({ messageCount: 3, lastSeq: 5 });
    const other = await sessions.transcript(importedSessionId(fine.doc._id), { afterSeq: 0 });
    expect(other.messages.map((m) => m.content)).toEqual(fine.plain.map(expectedText));
    expect(
      await chatbox.db!.collection('messages').findOne({ _id: importedMessageId(doc._id, 2) as never }),
    ).toBeNull();
  });

  it('reports a message too long for a document once encrypted and skips it while the rest of its session imports', async () => {
    // Session 3 ran without a key: its second message, 13 MiB of plain text, is over 16 MiB once encrypted in base64.
    const { doc, plain, encrypted } = goSession(3);
    expect(encrypted).toBe(false);
    doc.msgs[1].content = 'too long '.repeat(1_500_000);
    const other = goSession(4);
    await goSessions.insertMany([doc, other.doc]);

    const { code, err, report, skipped } = await runImport(['--from', goUri]);

    expect(err).toEqual([]);
    expect(skipped).toEqual([
      {
        goSessionId: doc._id,
        message: 1,
        reason: 'too long: encrypted, it is over the 16 MiB a MongoDB document may hold',
      },
    ]);
    expect(code).toBe(1);
    expect(report).toMatchObject({ sessions: { read: 2, imported: 2, skipped: 0 }, messages: { skipped: 1 } });
    const { messages } = await sessions.transcript(importedSessionId(doc._id), { afterSeq: 0 });
    expect(messages.map((m) => [m.seq, m.content])).toEqual(
      plain.flatMap((m, i) => (i === 1 ? [] : [[i + 1, expectedText(m)]])),
    );
    const rest = await sessions.transcript(importedSessionId(other.doc._id), { afterSeq: 0 });
    expect(rest.messages.map((m) => m.content)).toEqual(other.plain.map(expectedText));
  });

  it('counts every message the session holds when a later run imports those an earlier one could not read', async () => {
    // The Go service's key was changed part-way: its first two messages are under GO_KEY, the rest under another.
    const otherGoKey = 'r'.repeat(32);
    const { doc, plain } = goSession(0, { messages: 5 });
    for (const i of [2, 3, 4]) doc.msgs[i].content = encryptLikeGo(plain[i].text, otherGoKey);
    await goSessions.insertOne(doc);
    const id = importedSessionId(doc._id);

    expect((await runImport(['--from', goUri])).code).toBe(1);
    expect(await sessions.view(id)).toMatchObject({ messageCount: 2, lastSeq: 2 });
    const second = await runImport(['--from', goUri, '--reimport'], { ...ENV, GO_ENCRYPTION_KEY: otherGoKey });

    expect(second.report).toMatchObject({ sessions: { imported: 1 }, messages: { imported: 3, created: 3 } });
    const { messages } = await sessions.transcript(id, { afterSeq: 0 });
    expect(messages.map((m) => m.content)).toEqual(plain.map(expectedText));
    expect(await sessions.view(id)).toMatchObject({ messageCount: 5, lastSeq: 5 });
  });

  it('writes nothing on a dry run, and reports the counts and every reason', async () => {
    const { doc } = goSession(2, { messages: 4 });
    doc.msgs[1].content = encryptLikeGo('another key', 'z'.repeat(32));
    await goSessions.insertMany([doc, goSession(3).doc, { ...goSession(10).doc, uid: 42 } as unknown as GoSessionDoc]);

    const { code, report, skipped } = await runImport(['--from', goUri, '--dry-run']);

    expect(code).toBe(1);
    expect(report).toMatchObject({
      dryRun: true,
      sessions: { read: 3, imported: 2, created: 0, skipped: 1 },
      messages: { imported: 4 - 1 + goSession(3).plain.length, created: 0 },
    });
    expect(skipped).toEqual([
      { goSessionId: doc._id, message: 1, reason: expect.stringContaining('does not decrypt') as string },
      { goSessionId: goSession(10).doc._id, reason: expect.stringContaining('uid') as string },
    ]);
    for (const name of ['chat_sessions', 'messages', 'shares', CHECKPOINT_COLLECTION, LEDGER_COLLECTION]) {
      expect(await chatbox.db!.collection(name).countDocuments()).toBe(0);
    }
  });

  it('imports only the sessions active since --since, with share links lasting --share-expiry-days', async () => {
    const fixtures = Array.from({ length: 10 }, (_, n) => goSession(n));
    await goSessions.insertMany(fixtures.map((f) => f.doc));
    const since = fixtures[5].doc.ts;

    const { code, report } = await runImport([
      '--from',
      goUri,
      '--since',
      since.toISOString(),
      '--share-expiry-days',
      '7',
    ]);

    expect(code).toBe(0);
    expect(report).toMatchObject({ sessions: { read: 5, imported: 5 } });
    const imported = await chatbox.db!.collection('chat_sessions').find().toArray();
    expect(imported.map((s) => s._id as unknown as string).sort()).toEqual(
      fixtures
        .slice(5)
        .map((f) => importedSessionId(f.doc._id))
        .sort(),
    );
    const share = await chatbox.db!.collection('shares').findOne();
    expect(((share!.expiresAt as Date).getTime() - (share!.createdAt as Date).getTime()) / 86_400_000).toBe(7);
  });

  it('completes with no duplicates when a run is killed halfway and started again', async () => {
    const fixtures = Array.from({ length: 240 }, (_, n) => goSession(n));
    await goSessions.insertMany(fixtures.map((f) => f.doc));
    const messageTotal = fixtures.reduce((sum, f) => sum + f.plain.length, 0);
    const child = spawn(
      process.execPath,
      [path.join(PROJECT_ROOT, 'dist', 'migration', 'go-chatbox', 'go-import.js'), '--from', goUri, '--batch', '4'],
      { env: { ...process.env, ...ENV }, stdio: 'ignore' },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    const checkpoints = chatbox.db!.collection(CHECKPOINT_COLLECTION);

    // Killed once the checkpoint shows progress: mid-import, between (or during) its writes.
    await waitFor(async () => (await checkpoints.findOne({ done: false }))?.lastGoId as string | undefined, {
      what: 'the child to record progress',
      timeoutMs: 30000,
      intervalMs: 5,
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const checkpoint = await checkpoints.findOne();
    expect(checkpoint).toMatchObject({ done: false });
    const partial = await chatbox.db!.collection('chat_sessions').countDocuments();
    expect(partial).toBeLessThan(fixtures.length);

    const { code, report } = await runImport(['--from', goUri, '--batch', '50']);

    expect(code).toBe(0);
    expect(report!.resumedAfter).toBe(checkpoint!.lastGoId);
    expect(report!.sessions.read).toBeLessThan(fixtures.length);
    expect(await checkpoints.findOne()).toMatchObject({ done: true });
    const stored = await chatbox
      .db!.collection('messages')
      .find({}, { projection: { sessionId: 1, seq: 1 } })
      .toArray();
    expect(stored).toHaveLength(messageTotal);
    expect(new Set(stored.map((m) => `${m.sessionId}:${m.seq}`)).size).toBe(messageTotal);
    expect(await chatbox.db!.collection('chat_sessions').countDocuments()).toBe(fixtures.length);
    for (const { doc, plain } of [fixtures[0], fixtures[120], fixtures[239]]) {
      expect(await sessions.view(importedSessionId(doc._id))).toMatchObject({ messageCount: plain.length });
    }
  });

  describe('when the database does not take a session', () => {
    const fixtures = Array.from({ length: 12 }, (_, n) => goSession(n));
    const refused = fixtures[7].doc._id;
    // Another Chatbox session holding the unique activeKey the imported one needs: a refusal no retry gets past.
    const blockRefused = () =>
      chatbox.db!.collection('chat_sessions').insertOne({
        _id: 'blocker',
        activeKey: `ended:${importedSessionId(refused)}`,
      } as never);
    const unblock = () => chatbox.db!.collection('chat_sessions').deleteOne({ _id: 'blocker' as never });
    const checkpoint = () => chatbox.db!.collection(CHECKPOINT_COLLECTION).findOne();
    const messagesOf = (goId: string) =>
      chatbox.db!.collection('messages').countDocuments({ sessionId: importedSessionId(goId) });

    it('reports it with the database error, leaves it out and imports the rest; a later run imports it once accepted', async () => {
      await goSessions.insertMany(fixtures.map((f) => f.doc));
      await blockRefused();
      const leftOut = fixtures[7].plain.length;

      const first = await runImport(['--from', goUri, '--batch', '3']);

      expect(first.err).toEqual([]);
      expect(first.skipped).toEqual([
        {
          goSessionId: refused,
          reason: expect.stringMatching(/^the database refused its write \(code 11000\): .*duplicate key/) as string,
        },
      ]);
      expect(first.code).toBe(1);
      expect(first.report).toMatchObject({
        sessions: { read: 12, imported: 11, skipped: 1 },
        messages: { skipped: leftOut },
        skippedInAll: { sessions: 1, messages: leftOut },
      });
      expect(await checkpoint()).toMatchObject({
        lastGoId: fixtures[11].doc._id,
        done: true,
        skipped: { sessions: 1, messages: leftOut },
      });
      // Its messages were written before the session was refused; they do not stay where no session shows them.
      expect(await messagesOf(refused)).toBe(0);
      for (const { doc, plain } of fixtures.filter((f) => f.doc._id !== refused)) {
        const { messages } = await sessions.transcript(importedSessionId(doc._id), { afterSeq: 0 });
        expect(messages.map((m) => m.content)).toEqual(plain.map(expectedText));
      }
      await unblock();

      // The import is done, so the next run reads every session again and writes the one left out.
      const second = await runImport(['--from', goUri, '--batch', '3']);

      expect(second.skipped).toEqual([]);
      expect(second.code).toBe(0);
      expect(second.report).toMatchObject({
        resumedAfter: null,
        sessions: { read: 12, imported: 1, created: 1, skipped: 0, previouslyImported: 11 },
      });
      const { messages } = await sessions.transcript(importedSessionId(refused), { afterSeq: 0 });
      expect(messages.map((m) => m.content)).toEqual(fixtures[7].plain.map(expectedText));
      expect(await chatbox.db!.collection('chat_sessions').countDocuments()).toBe(fixtures.length);
    });

    it('stops when the database stays unreachable, reporting nothing left out for it, and the next run continues and counts what the runs before it left out', async () => {
      // A database of its own, which the test kills mid-run; the Go sessions stay on the suite's.
      const db = await startOwnFerretDb();
      const env = { ...ENV, MONGODB_URI: db.uri };
      const observer = new mongo.MongoClient(db.uri);
      try {
        const many = Array.from({ length: 240 }, (_, n) => goSession(n));
        const bad = { ...many[1].doc, uid: undefined } as unknown as GoSessionDoc;
        await goSessions.insertMany(many.map((f, n) => (n === 1 ? bad : f.doc)));
        const checkpoints = observer.db().collection(CHECKPOINT_COLLECTION);

        const run = runImport(['--from', goUri, '--batch', '3'], env);
        await waitFor(async () => ((await checkpoints.findOne())?.lastGoId as string | undefined) ?? false, {
          what: 'the import to pass its first checkpoint',
          timeoutMs: 30000,
          intervalMs: 5,
        });
        await db.kill();
        const first = await run;

        expect(first.code).toBe(2);
        expect(first.err.join('\n')).toMatch(/^The import stopped: /);
        // Only the session with no uid: what was being written when the database died is not left out.
        expect(first.skipped).toEqual([{ goSessionId: bad._id, reason: expect.stringContaining('uid') as string }]);
        expect(first.report).toBeUndefined();
        await db.start();
        const stopped = await checkpoints.findOne();
        expect(stopped).toMatchObject({ done: false, skipped: { sessions: 1, messages: many[1].plain.length } });

        const resumed = await runImport(['--from', goUri, '--batch', '50'], env);

        expect(resumed.code).toBe(1);
        expect(resumed.report).toMatchObject({
          resumedAfter: stopped!.lastGoId as string,
          sessions: { skipped: 0 },
          skippedInAll: { sessions: 1, messages: many[1].plain.length },
        });
        const target = observer.db();
        expect(await target.collection('chat_sessions').countDocuments()).toBe(many.length - 1);
        const messageTotal = many.reduce((sum, f, n) => sum + (n === 1 ? 0 : f.plain.length), 0);
        expect(await target.collection('messages').countDocuments()).toBe(messageTotal);
      } finally {
        await observer.close();
        await db.stop();
      }
    }, 120_000);
  });

  it('reads the Go sessions through one cursor, a few documents per round trip', async () => {
    const fixtures = Array.from({ length: 240 }, (_, n) => goSession(n));
    await goSessions.insertMany(fixtures.map((f) => f.doc));
    // What the Go database answered to each find and getMore of the import: how many documents each held.
    const batches: number[] = [];
    const recording = (uri: string) => {
      const client = new mongo.MongoClient(uri, { monitorCommands: true });
      client.on('commandSucceeded', (event) => {
        const cursor = (event.reply as { cursor?: { firstBatch?: unknown[]; nextBatch?: unknown[] } }).cursor;
        const batch = cursor?.firstBatch ?? cursor?.nextBatch;
        if (['find', 'getMore'].includes(event.commandName) && batch) batches.push(batch.length);
      });
      return client;
    };

    const { code, report } = await runImport(['--from', goUri], ENV, recording);

    expect(code).toBe(0);
    expect(report).toMatchObject({ sessions: { read: 240, imported: 240 } });
    expect(batches.reduce((a, b) => a + b, 0)).toBe(240);
    expect(Math.max(...batches)).toBeLessThanOrEqual(READ_BATCH);
  });

  it('imports from the database Chatbox itself uses, the Go collection beside its own', async () => {
    const fixtures = Array.from({ length: 6 }, (_, n) => goSession(n));
    const shared = chatbox.db!.collection<GoSessionDoc>('sessions');
    await shared.deleteMany({});
    await shared.insertMany(fixtures.map((f) => f.doc));
    const messageTotal = fixtures.reduce((sum, f) => sum + f.plain.length, 0);

    const { code, err, report } = await runImport(['--from', chatboxUri]);

    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(report).toMatchObject({
      sessions: { read: 6, imported: 6, created: 6 },
      messages: { created: messageTotal },
    });
    for (const { doc, plain } of fixtures) {
      const { messages } = await sessions.transcript(importedSessionId(doc._id), { afterSeq: 0 });
      expect(messages.map((m) => m.content)).toEqual(plain.map(expectedText));
    }
    // The Go documents are read, never written.
    expect((await shared.find().sort({ _id: 1 }).toArray()).map((d) => [d._id, d.msgs.length])).toEqual(
      fixtures.map((f) => [f.doc._id, f.doc.msgs.length]),
    );
    await shared.deleteMany({});
  });

  it('exits 2 without importing on bad usage or configuration', async () => {
    await goSessions.insertOne(goSession(1).doc);
    const cases: [string[], NodeJS.ProcessEnv, string][] = [
      [[], ENV, '--from is required'],
      [['--from', 'http://x'], ENV, '--from must be'],
      [['--from', goUri, '--batch', '0'], ENV, '--batch must be'],
      [['--from', goUri, '--since', 'soon'], ENV, '--since must be'],
      [['--from', goUri, '--share-expiry-days', 'x'], ENV, '--share-expiry-days must be'],
      [['--from', goUri, '--what'], ENV, 'unknown option --what'],
      [['--from', goUri], { ...ENV, GO_ENCRYPTION_KEY: 'short' }, 'GO_ENCRYPTION_KEY must be'],
      [['--from', goUri], { ...ENV, MONGODB_URI: undefined }, 'MONGODB_URI is not set'],
      [['--from', goUri], { ...ENV, ENCRYPTION_KEY: undefined }, 'ENCRYPTION_KEY (or ENCRYPTION_KEYS) is not set'],
      [['--from', goUri], { ...ENV, ENCRYPTION_KEY: 'short' }, 'ENCRYPTION_KEY must be 32 bytes'],
    ];
    for (const [argv, env, message] of cases) {
      const run = await runImport(argv, env);
      expect({ argv, code: run.code, err: run.err.join('\n') }).toEqual({
        argv,
        code: 2,
        err: expect.stringContaining(message) as string,
      });
    }
    expect(await chatbox.db!.collection('chat_sessions').countDocuments()).toBe(0);
  });
});
