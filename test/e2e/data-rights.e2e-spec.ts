import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mongoose, { Connection } from 'mongoose';
import { AdminClient } from '../utils/admin-client';
import { AppConfig } from '../../src/config/app-config';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { PNG, uploadFile } from '../utils/uploads';
import { waitFor } from '../utils/wait-for';

const run = promisify(execFile);

/** The collections that hold a session's data, keyed by session id (`_id` for the session and its lease). */
const BY_SESSION = ['messages', 'shares', 'owner_changes', 'reply_announcements', 'notification_outbox'] as const;

describe('data rights: erasure', () => {
  let t: TestApp;
  let db: Connection;
  const clients: (ChatClient | AdminClient)[] = [];

  beforeAll(async () => {
    // Replies stream slowly enough to erase one mid-way (the demo reply is some 35 deltas).
    t = await startTestApp({ DEMO_DELTA_INTERVAL_MS: '100' });
    db = await mongoose.createConnection(t.env.MONGODB_URI).asPromise();
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await db.close();
    await t.close();
  });

  const api = async (token: string, path: string, init: RequestInit = {}) => {
    const res = await fetch(`${t.baseUrl}/chatbox${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const user = async () => {
    const userId = `u-${randomUUID()}`;
    const token = await signToken(t.env.JWT_SECRET, { sub: userId, name: 'Uma' });
    const client = await ChatClient.connect(t.baseUrl, token);
    clients.push(client);
    return { client, token, userId };
  };
  const send = (client: ChatClient, sessionId: string, content: string) =>
    client.ok<{ messageId: string; seq: number }>('message:send', {
      sessionId,
      clientMessageId: randomUUID(),
      content,
    });
  /** A session with a question answered, a share link and a help request: something in every collection. */
  const fullSession = async (u: { client: ChatClient; token: string }, words: string) => {
    const { sessionId } = await u.client.ok<{ sessionId: string }>('session:start', {});
    const { messageId } = await send(u.client, sessionId, words);
    await u.client.waitForEvent('ai:end', (e) => e.sessionId === sessionId);
    expect((await api(u.token, `/sessions/${sessionId}/shares`, { method: 'POST', body: '{}' })).status).toBe(201);
    await u.client.ok('help:request', { sessionId, reason: `please, ${words}` });
    return { sessionId, messageId };
  };
  /** What the database holds about these sessions, collection by collection. */
  const held = async (sessionIds: string[]) => {
    const counts: Record<string, number> = {
      sessions: await db.collection('chat_sessions').countDocuments({ _id: { $in: sessionIds } as never }),
      turn_leases: await db.collection('turn_leases').countDocuments({ _id: { $in: sessionIds } as never }),
    };
    for (const name of BY_SESSION) {
      counts[name] = await db.collection(name).countDocuments({ sessionId: { $in: sessionIds } });
    }
    return counts;
  };
  const nothing = {
    sessions: 0,
    turn_leases: 0,
    messages: 0,
    shares: 0,
    owner_changes: 0,
    reply_announcements: 0,
    notification_outbox: 0,
  };

  it("erases every session of the user and all that hangs off it, leaves another user's data alone, and audits counts only", async () => {
    const uma = await user();
    const other = await user();
    const first = await fullSession(uma, 'first secret words');
    const second = await fullSession(uma, 'second secret words');
    const kept = await fullSession(other, 'words of someone else');
    // An administrator takes the second session over: a change of owner to erase too.
    const admin = new AdminClient(
      t.baseUrl,
      await signToken(t.env.JWT_SECRET, { sub: `a-${randomUUID()}`, name: 'Ann', roles: ['admin'] }),
    );
    clients.push(admin);
    await admin.connected();
    await admin.ok('admin:join', { sessionId: second.sessionId });
    const otherBefore = await held([kept.sessionId]);
    expect(otherBefore).toMatchObject({ sessions: 1, messages: 3, shares: 1 });
    expect(otherBefore.notification_outbox).toBeGreaterThan(0);

    const before = await held([first.sessionId, second.sessionId]);
    const res = await api(uma.token, '/me', { method: 'DELETE' });

    expect(res).toEqual({
      status: 200,
      body: {
        sessions: 2,
        messages: before.messages,
        shares: 2,
        ownerChanges: 1,
        replyAnnouncements: 2,
        turnLeases: 0,
        files: 0,
        notifications: before.notification_outbox,
      },
    });
    expect(before.owner_changes).toBe(1);
    // One for each session's answered question.
    expect(before.reply_announcements).toBe(2);
    expect(await held([first.sessionId, second.sessionId])).toEqual(nothing);
    expect(await db.collection('chat_sessions').countDocuments({ userId: uma.userId })).toBe(0);
    expect(await held([kept.sessionId])).toEqual(otherBefore);
    expect((await api(other.token, `/sessions/${kept.sessionId}`)).status).toBe(200);
    // The devices were told their sessions ended.
    await uma.client.waitForEvent('session:state', (e) => e.id === second.sessionId && e.status === 'ended');

    const audit = await db.collection('audit').findOne({ action: 'user_erased', 'actor.id': uma.userId });
    expect(audit).toMatchObject({
      actor: { kind: 'user', id: uma.userId },
      details: { sessions: 2, messages: before.messages, shares: 2, ownerChanges: 1 },
    });
    expect(audit).not.toHaveProperty('sessionId');
    expect(JSON.stringify(audit)).not.toMatch(/secret/);

    // Nothing is left to erase: a second request deletes nothing.
    expect((await api(uma.token, '/me', { method: 'DELETE' })).body).toMatchObject({ sessions: 0, messages: 0 });
  });

  it("erases the user's files with their objects, sent or not, and leaves another user's files alone", async () => {
    const uma = await user();
    const other = await user();
    const upload = async (token: string, name: string) => {
      const res = await uploadFile(t.baseUrl, token, PNG, name);
      expect(res.status).toBe(201);
      return res.body.fileId;
    };
    const objects = async () =>
      (await readdir(join(t.app.get(AppConfig).upload.dir, 'objects'), { recursive: true, withFileTypes: true }))
        .filter((entry) => entry.isFile())
        .map((entry) => entry.name);
    const sent = await upload(uma.token, 'sent.png');
    const unsent = await upload(uma.token, 'unsent.png');
    const others = await upload(other.token, 'others.png');
    const { sessionId } = await uma.client.ok<{ sessionId: string }>('session:start', {});
    await uma.client.ok('message:send', { sessionId, clientMessageId: randomUUID(), content: 'look', fileIds: [sent] });
    const objectsBefore = (await objects()).length;

    const res = await api(uma.token, '/me', { method: 'DELETE' });

    expect(res.body).toMatchObject({ sessions: 1, files: 2 });
    expect(await db.collection('files').countDocuments({ _id: { $in: [sent, unsent] } as never })).toBe(0);
    expect((await objects()).length).toBe(objectsBefore - 2);
    const download = await fetch(`${t.baseUrl}/chatbox/files/${others}`, {
      headers: { authorization: `Bearer ${other.token}` },
      redirect: 'manual',
    });
    expect(download.status).toBe(302);
  });

  it('finishes an erasure that stopped half-way when asked again', async () => {
    const uma = await user();
    const done = await fullSession(uma, 'already gone');
    const halfway = await fullSession(uma, 'half gone');
    const untouched = await fullSession(uma, 'not reached');
    // Where a run that crashed leaves things: sessions erased whole, then one whose children were deleted
    // (the session itself goes last), the rest not reached.
    for (const name of [...BY_SESSION, 'chat_sessions']) {
      const key = name === 'chat_sessions' ? '_id' : 'sessionId';
      await db.collection(name).deleteMany({ [key]: done.sessionId });
    }
    await db.collection('shares').deleteMany({ sessionId: halfway.sessionId });
    await db.collection('messages').deleteMany({ sessionId: halfway.sessionId });
    const left = await held([halfway.sessionId, untouched.sessionId]);

    const res = await api(uma.token, '/me', { method: 'DELETE' });

    expect(res.body).toMatchObject({ sessions: 2, messages: left.messages, shares: left.shares });
    expect(await held([done.sessionId, halfway.sessionId, untouched.sessionId])).toEqual(nothing);
  });

  it('stops a reply streaming during the erasure, and nothing of it is stored afterwards', async () => {
    const uma = await user();
    const { sessionId } = await uma.client.ok<{ sessionId: string }>('session:start', {});
    await send(uma.client, sessionId, 'tell me a long story');
    const start = await uma.client.waitForEvent('ai:delta');
    expect(await held([sessionId])).toMatchObject({ sessions: 1, turn_leases: 1 });

    const res = await api(uma.token, '/me', { method: 'DELETE' });

    expect(res.body).toMatchObject({ sessions: 1, turnLeases: 0 });
    // The reply was stopped (the demo's full reply takes seconds more) and told as ended to the device.
    const end = await uma.client.waitForEvent('ai:end', (e) => e.messageId === start.messageId);
    expect(end).toMatchObject({ finishReason: 'session_ended' });
    expect(uma.client.streamedText(start.messageId as string)).not.toMatch(/Configure a real model/);
    await waitFor(async () => (await metric('chatbox_ai_turns_in_flight')) === 0, { what: 'no turn running' });
    expect(await held([sessionId])).toEqual(nothing);
  });

  const metric = async (name: string) => {
    const text = await (
      await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${t.env.METRICS_TOKEN}` } })
    ).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };
});

describe('data rights: export', () => {
  let t: TestApp;
  let db: Connection;
  let dir: string;
  const clients: ChatClient[] = [];

  beforeAll(async () => {
    t = await startTestApp({ DEMO_DELTA_INTERVAL_MS: '0' });
    db = await mongoose.createConnection(t.env.MONGODB_URI).asPromise();
    dir = await mkdtemp(join(tmpdir(), 'chatbox-export-'));
  });
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await rm(dir, { recursive: true, force: true });
    await db.close();
    await t.close();
  });

  const user = async () => {
    const token = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}`, name: 'Uma' });
    const client = await ChatClient.connect(t.baseUrl, token);
    clients.push(client);
    return { client, token };
  };
  /** A session where the user said each of `lines`, each answered before the next. */
  const conversation = async (client: ChatClient, lines: string[]) => {
    const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
    for (const content of lines) {
      const { messageId } = await client.ok<{ messageId: string }>('message:send', {
        sessionId,
        clientMessageId: randomUUID(),
        content,
      });
      await client.waitForEvent('ai:end', (e) => e.sessionId === sessionId && e.replyTo === messageId);
    }
    return sessionId;
  };
  const unzip = async (...args: string[]) => (await run('unzip', args, { maxBuffer: 64 << 20 })).stdout;

  it("downloads a zip of exactly the user's sessions, each with every message decrypted in seq order, and files", async () => {
    const uma = await user();
    const other = await user();
    const first = await conversation(uma.client, ['first question', 'second question']);
    const second = await conversation(uma.client, ['a question in another session']);
    await conversation(other.client, ['words of someone else']);
    const upload = async (token: string) => (await uploadFile(t.baseUrl, token, PNG, 'photo.png')).body.fileId;
    const photo = await upload(uma.token);
    await upload(other.token);

    const res = await fetch(`${t.baseUrl}/chatbox/me/export`, { headers: { authorization: `Bearer ${uma.token}` } });

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="chatbox-export-[\d-]+\.zip"$/);
    // Streamed as it is written: no length known up front.
    expect(res.headers.get('content-length')).toBeNull();
    const file = join(dir, 'export.zip');
    await writeFile(file, Buffer.from(await res.arrayBuffer()));

    const names = (await unzip('-Z1', file)).trim().split('\n');
    expect(names).toEqual([
      'index.json',
      `sessions/${second}.json`,
      `sessions/${first}.json`,
      `files/${photo}-photo.png`,
    ]);
    const bytes = (await run('unzip', ['-p', file, `files/${photo}-photo.png`], { encoding: 'buffer' })).stdout;
    expect(Buffer.compare(bytes, PNG)).toBe(0);
    const index = JSON.parse(await unzip('-p', file, 'index.json')) as {
      sessions: { id: string; file: string }[];
      files: { id: string; name: string; type: string; size: number; file: string }[];
    };
    expect(index.files).toEqual([
      expect.objectContaining({ id: photo, name: 'photo.png', type: 'image/png', size: PNG.length }),
    ]);
    expect(index.files[0].file).toBe(`files/${photo}-photo.png`);
    expect(JSON.stringify(index)).not.toContain('storageKey');
    expect(index.sessions.map((s) => [s.id, s.file])).toEqual([
      [second, `sessions/${second}.json`],
      [first, `sessions/${first}.json`],
    ]);
    for (const [sessionId, said] of [
      [first, ['first question', 'second question']],
      [second, ['a question in another session']],
    ] as const) {
      const exported = JSON.parse(await unzip('-p', file, `sessions/${sessionId}.json`)) as {
        session: { id: string };
        messages: { id: string; seq: number; sender: string; content: string }[];
      };
      expect(exported.session.id).toBe(sessionId);
      const stored = await db
        .collection<{ _id: string; seq: number; content: string }>('messages')
        .find({ sessionId })
        .sort({ seq: 1 })
        .toArray();
      // Every stored message, in seq order, and none of another session's.
      expect(exported.messages.map((m) => [m.id, m.seq])).toEqual(stored.map((m) => [m._id, m.seq]));
      expect(exported.messages.map((m) => m.seq)).toEqual(stored.map((_, i) => i + 1));
      // Decrypted: the user's words as said, where the database holds ciphertext.
      expect(exported.messages.filter((m) => m.sender === 'user').map((m) => m.content)).toEqual(said);
      expect(exported.messages.filter((m) => m.sender === 'ai').map((m) => m.content)).toEqual(
        said.map((line) => expect.stringContaining(`You said: "${line}"`) as unknown),
      );
      expect(stored.map((m) => m.content).join()).not.toMatch(/question/);
    }
  });

  it('downloads an index of no sessions for a user who has none', async () => {
    const token = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` });
    const res = await fetch(`${t.baseUrl}/chatbox/me/export`, { headers: { authorization: `Bearer ${token}` } });
    const file = join(dir, 'empty.zip');
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
    expect((await unzip('-Z1', file)).trim()).toBe('index.json');
    expect(JSON.parse(await unzip('-p', file, 'index.json'))).toMatchObject({ sessions: [] });
  });
});
