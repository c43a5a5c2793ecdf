import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import mongoose, { Connection } from 'mongoose';
import { ObjectStorage } from '../../src/upload/storage/object-storage';
import { UploadService } from '../../src/upload/upload.service';
import { S3Server } from '../servers/s3-server';
import { AdminClient } from '../utils/admin-client';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';
import { cutUpload, elfBytes, objectReadable, PNG, streamUpload, uploadFile } from '../utils/uploads';

/** Every file under a directory, recursively (none when it does not exist yet). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  let found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    found = entry.isDirectory() ? [...found, ...filesUnder(full)] : [...found, full];
  }
  return found;
}

describe.each(['disk', 's3'] as const)('files, stored on %s', (driver) => {
  const s3 = new S3Server();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chatbox-files-'));
  const objectsDir = path.join(dataDir, 'files', 'objects');
  const stagingDir = path.join(dataDir, 'files', 'staging');
  let t: TestApp;
  let db: Connection;
  let ann: string;
  let bob: string;
  const clients: { close(): void }[] = [];

  const objectCount = async () => (driver === 's3' ? s3.objectCount() : filesUnder(objectsDir).length);
  const upload = (token: string, bytes: Uint8Array, name: string) => uploadFile(t.baseUrl, token, bytes, name);
  /** GET /files/:id without following: the signed URL, absolute. */
  const signedUrl = async (token: string, fileId: string) => {
    const res = await fetch(`${t.baseUrl}/chatbox/files/${fileId}`, {
      headers: { authorization: `Bearer ${token}` },
      redirect: 'manual',
    });
    const location = res.headers.get('location');
    return { status: res.status, url: location ? new URL(location, t.baseUrl).toString() : undefined };
  };

  beforeAll(async () => {
    if (driver === 's3') await s3.start();
    t = await startTestApp({
      DATA_DIR: dataDir,
      DOWNLOAD_URL_TTL_S: '2',
      UPLOAD_MAX_BYTES: '1048576',
      ...(driver === 's3' ? s3.env() : {}),
    });
    db = await mongoose.createConnection(t.env.MONGODB_URI).asPromise();
    ann = await signToken(t.env.JWT_SECRET, { sub: `ann-${driver}`, name: 'Ann' });
    bob = await signToken(t.env.JWT_SECRET, { sub: `bob-${driver}`, name: 'Bob' });
  });

  afterAll(async () => {
    clients.forEach((c) => c.close());
    await db?.close();
    await t?.close();
    if (driver === 's3') await s3.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('types a file by its content: a PNG named .pdf is stored as a PNG', async () => {
    const res = await upload(ann, PNG, 'holiday.pdf');
    expect(res).toMatchObject({ status: 201, body: { name: 'holiday.png', type: 'image/png', size: PNG.length } });
    const record = await db.collection('files').findOne({ _id: res.body.fileId as never });
    expect(record).toMatchObject({ ownerId: `ann-${driver}`, type: 'image/png', kind: 'image', deletedAt: null });
    expect(record?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(record?.storageKey).not.toContain('holiday');
    // What the server reads back (the user's export) is what was uploaded.
    const chunks: Buffer[] = [];
    for await (const chunk of await t.app.get(ObjectStorage).read(record?.storageKey as string)) {
      chunks.push(chunk as Buffer);
    }
    expect(Buffer.compare(Buffer.concat(chunks), PNG)).toBe(0);
  });

  it.each([
    ['an HTML page named .png', Buffer.from('<!doctype html><script>alert(1)</script>'), 'cat.png'],
    ['an SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), 'logo.svg'],
    ['an ELF executable', elfBytes(), 'notes.txt'],
  ])('refuses %s with 415 unsupported_file_type, keeping nothing', async (_what, bytes, name) => {
    const [objects, records] = [await objectCount(), await db.collection('files').countDocuments()];
    expect(await upload(ann, bytes, name)).toMatchObject({ status: 415, body: { code: 'unsupported_file_type' } });
    expect([await objectCount(), await db.collection('files').countDocuments()]).toEqual([objects, records]);
  });

  it('refuses a file over UPLOAD_MAX_BYTES with 413 file_too_large', async () => {
    const res = await upload(ann, Buffer.alloc(1048577, 'a'), 'big.txt');
    expect(res).toMatchObject({ status: 413, body: { code: 'file_too_large' } });
  });

  it('sends a file with a message, serves it through a signed URL that expires, to its owner only, and deletes it', async () => {
    const text = Buffer.from('minutes of the meeting\n');
    const { body: file } = await upload(ann, text, '../../etc/minutes.txt');
    expect(file).toMatchObject({ name: 'minutes.txt', type: 'text/plain', size: text.length });

    // Bob can neither send Ann's file, before or after she sent it, nor see it.
    const other = await ChatClient.connect(t.baseUrl, bob);
    clients.push(other);
    const bobSession = await other.ok<{ sessionId: string }>('session:start', {});
    const steal = () =>
      other.call('message:send', {
        sessionId: bobSession.sessionId,
        clientMessageId: randomUUID(),
        content: 'mine now',
        fileIds: [file.fileId],
      });
    expect(await steal()).toMatchObject({ ok: false, error: { code: 'not_found' } });

    const device = await ChatClient.connect(t.baseUrl, ann);
    clients.push(device);
    const { sessionId } = await device.ok<{ sessionId: string }>('session:start', {});
    const sent = await device.ok<{ messageId: string }>('message:send', {
      sessionId,
      clientMessageId: 'with-file',
      content: 'see attached',
      fileIds: [file.fileId],
    });
    const told = await device.waitForEvent('message:new', (m) => m.id === sent.messageId);
    expect(told.files).toEqual([{ id: file.fileId, name: 'minutes.txt', type: 'text/plain', size: text.length }]);
    expect(JSON.stringify(told)).not.toMatch(/https?:|downloads/);

    expect(await steal()).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect((await signedUrl(bob, file.fileId)).status).toBe(404);

    const { status, url } = await signedUrl(ann, file.fileId);
    expect(status).toBe(302);
    const download = await fetch(url!);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer())).toEqual(text);
    expect(download.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(download.headers.get('content-disposition')).toMatch(/^attachment; filename="minutes.txt"/);
    if (driver === 'disk') expect(download.headers.get('x-content-type-options')).toBe('nosniff');

    // The bytes served by the app itself (what the pages fetch, whatever the storage), to the same people.
    const content = (token: string) =>
      fetch(`${t.baseUrl}/chatbox/files/${file.fileId}/content`, { headers: { authorization: `Bearer ${token}` } });
    const served = await content(ann);
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(text);
    expect(served.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(served.headers.get('content-disposition')).toMatch(/^attachment; filename="minutes.txt"/);
    expect(served.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await content(bob)).status).toBe(404);

    // The URL stops working once DOWNLOAD_URL_TTL_S has passed.
    await waitFor(async () => (await fetch(url!)).status !== 200 || undefined, { what: 'the URL to expire' });
    expect((await fetch(url!)).status).toBeGreaterThanOrEqual(400);

    const before = await objectCount();
    const bobDelete = await fetch(`${t.baseUrl}/chatbox/files/${file.fileId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${bob}` },
    });
    expect(bobDelete.status).toBe(404);
    const fresh = (await signedUrl(ann, file.fileId)).url!;
    const removed = await fetch(`${t.baseUrl}/chatbox/files/${file.fileId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ann}` },
    });
    expect(removed.status).toBe(204);
    expect(await objectCount()).toBe(before - 1);
    expect((await fetch(fresh)).status).toBe(404);
    expect((await signedUrl(ann, file.fileId)).status).toBe(404);
    const record = await db.collection('files').findOne({ _id: file.fileId as never });
    expect(record?.deletedAt).toBeInstanceOf(Date);
  });

  it('lets an administrator see a file only while watching or holding its session, and send it there', async () => {
    const { body: file } = await upload(ann, PNG, 'screenshot.png');
    const device = await ChatClient.connect(t.baseUrl, ann);
    clients.push(device);
    const { sessionId } = await device.ok<{ sessionId: string }>('session:start', {});
    await device.ok('message:send', { sessionId, clientMessageId: 'shot', content: 'look', fileIds: [file.fileId] });

    const adminToken = await signToken(t.env.JWT_SECRET, { sub: `admin-${driver}`, name: 'Eve', roles: ['admin'] });
    expect((await signedUrl(adminToken, file.fileId)).status).toBe(404);
    const admin = new AdminClient(t.baseUrl, adminToken);
    clients.push(admin);
    await admin.connected();
    await admin.ok('admin:watch', { sessionId });
    const { url } = await signedUrl(adminToken, file.fileId);
    const image = await fetch(url!);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-disposition')).toMatch(/^inline/);

    await admin.ok('admin:join', { sessionId });
    const { body: bobFile } = await upload(bob, PNG, 'bob.png');
    expect(
      await admin.call('admin:message', { sessionId, clientMessageId: 'x', content: 'no', fileIds: [bobFile.fileId] }),
    ).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const sent = await admin.ok<{ messageId: string }>('admin:message', {
      sessionId,
      clientMessageId: 'back',
      content: 'this one?',
      fileIds: [file.fileId],
    });
    const told = await device.waitForEvent('message:new', (m) => m.id === sent.messageId);
    expect(told.files).toEqual([{ id: file.fileId, name: 'screenshot.png', type: 'image/png', size: PNG.length }]);

    // A file of the administrator's own, sent in the session, is the session's user's to see too, and no one else's.
    const { body: adminFile } = await upload(adminToken, PNG, 'annotated.png');
    expect((await signedUrl(ann, adminFile.fileId)).status).toBe(404);
    // Files alone, with no words, as a user may send them; no words and no files is refused.
    expect(await admin.call('admin:message', { sessionId, clientMessageId: 'none', content: '' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_payload' },
    });
    await admin.ok('admin:message', { sessionId, clientMessageId: 'own', content: '', fileIds: [adminFile.fileId] });
    const shown = await signedUrl(ann, adminFile.fileId);
    expect(shown.status).toBe(302);
    expect((await fetch(shown.url!)).status).toBe(200);
    expect((await signedUrl(bob, adminFile.fileId)).status).toBe(404);
  });

  it('keeps nothing of an upload the client cuts in the middle: no object, no record, no staged bytes', async () => {
    const [objects, records] = [await objectCount(), await db.collection('files').countDocuments()];
    await cutUpload(t.baseUrl, ann, () => filesUnder(stagingDir).length > 0);
    // Generous: a server socket paused by backpressure sees the cut only when it reads again.
    await waitFor(() => t.logs.lines.some((l) => l.msg === 'upload not completed; nothing kept'), {
      timeoutMs: 40000,
      what: 'the cut upload to be dropped',
    });
    expect(filesUnder(stagingDir)).toEqual([]);
    expect([await objectCount(), await db.collection('files').countDocuments()]).toEqual([objects, records]);
  });

  it('sweeps what a crash mid-upload leaves: an hour-old record never confirmed stored, with its object, and as old staged bytes', async () => {
    const storage = t.app.get(ObjectStorage);
    const hourAgo = Date.now() - 3_600_000;
    /**
     * A record as an upload writes it before its object (pending), or as an earlier version wrote it once
     * stored (no `pending` field), and its object, as a crash right after the put leaves them.
     */
    const unfinished = async (
      createdAt: Date,
      state: { pending: true } | Record<string, never> = { pending: true },
    ) => {
      const record = { _id: randomUUID(), storageKey: randomUUID() };
      const staged = path.join(dataDir, `put-${record._id}`);
      writeFileSync(staged, PNG);
      await storage.put(record.storageKey, staged, { type: 'image/png', size: PNG.length, sha256: 'x'.repeat(64) });
      rmSync(staged, { force: true });
      await db.collection('files').insertOne({
        ...record,
        ownerId: `ann-${driver}`,
        sessionId: null,
        name: 'cut.png',
        type: 'image/png',
        size: PNG.length,
        sha256: 'x'.repeat(64),
        kind: 'image',
        createdAt,
        ...state,
        deletedAt: null,
      } as never);
      return record;
    };
    const readable = (key: string) => objectReadable(storage, key);
    const old = await unfinished(new Date(hourAgo - 1000));
    const fresh = await unfinished(new Date());
    const earlierVersion = await unfinished(new Date(hourAgo - 1000), {});
    mkdirSync(stagingDir, { recursive: true });
    const [oldStaged, freshStaged] = [path.join(stagingDir, randomUUID()), path.join(stagingDir, randomUUID())];
    writeFileSync(oldStaged, 'cut');
    utimesSync(oldStaged, new Date(hourAgo - 1000), new Date(hourAgo - 1000));
    writeFileSync(freshStaged, 'being written');

    // Until its object is confirmed, a file is nobody's to read or send.
    expect((await signedUrl(ann, fresh._id)).status).toBe(404);
    const chat = await ChatClient.connect(t.baseUrl, ann);
    clients.push(chat);
    const { sessionId } = await chat.ok<{ sessionId: string }>('session:start', {});
    const sent = await chat.call('message:send', {
      sessionId,
      clientMessageId: 'c1',
      content: 'see',
      fileIds: [fresh._id],
    });
    expect(sent).toMatchObject({ ok: false, error: { code: 'not_found' } });

    expect(await t.app.get(UploadService).sweepAbandoned(new Date(), 3_600_000)).toEqual({ records: 1, staged: 1 });
    expect(await db.collection('files').findOne({ _id: old._id as never })).toBeNull();
    expect(await readable(old.storageKey)).toBe(false);
    expect(await db.collection('files').findOne({ _id: fresh._id as never })).not.toBeNull();
    expect(await readable(fresh.storageKey)).toBe(true);
    expect([existsSync(oldStaged), existsSync(freshStaged)]).toEqual([false, true]);
    rmSync(freshStaged);
    // A file an earlier version stored (no `pending` field) is neither swept nor hidden.
    expect(await readable(earlierVersion.storageKey)).toBe(true);
    expect((await signedUrl(ann, earlierVersion._id)).status).toBe(302);
  });

  it('keeps no bytes of an upload whose owner was erased while its object was being written, and answers 404', async () => {
    const storage = t.app.get(ObjectStorage);
    const owner = await signToken(t.env.JWT_SECRET, { sub: `gone-${driver}` });
    const write = storage.put.bind(storage);
    const put = jest.spyOn(storage, 'put').mockImplementationOnce(async (...args) => {
      // The owner's data is erased between the record's insert and the object's write.
      await t.app.get(UploadService).erase({ ownerId: `gone-${driver}` });
      return write(...args);
    });
    const before = await objectCount();
    try {
      expect(await upload(owner, PNG, 'late.png')).toMatchObject({ status: 404, body: { code: 'not_found' } });
    } finally {
      put.mockRestore();
    }
    expect(await objectCount()).toBe(before);
    expect(await db.collection('files').countDocuments({ ownerId: `gone-${driver}` })).toBe(0);
  });
});

describe('an upload far over UPLOAD_MAX_BYTES', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chatbox-big-'));
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ DATA_DIR: dataDir, UPLOAD_MAX_BYTES: String(10 * 1048576) });
  });

  afterAll(async () => {
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is refused at the limit without the rest being read, and memory does not grow with its size', async () => {
    const token = await signToken(t.env.JWT_SECRET, { sub: 'big-sender' });
    global.gc?.();
    const before = process.memoryUsage();
    let peakRss = before.rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 5);
    const result = await streamUpload(t.baseUrl, token, 200 * 1048576).finally(() => clearInterval(sampler));
    const after = process.memoryUsage();
    const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
    console.log(
      `200 MiB upload against a 10 MiB limit: client could send ${mib(result.sentBytes)} MiB before the server closed the connection; ` +
        `RSS ${mib(before.rss)} -> peak ${mib(peakRss)} MiB (+${mib(peakRss - before.rss)}), ` +
        `heap used ${mib(before.heapUsed)} -> ${mib(after.heapUsed)} MiB`,
    );
    expect(result).toMatchObject({ status: 413, body: { code: 'file_too_large' } });
    // The server stopped reading soon after the limit (socket buffers hold a few MiB more), not at 200 MiB.
    expect(result.sentBytes).toBeLessThan(64 * 1048576);
    // Client and server share this process: a buffered upload would show here as 10-200 MiB more.
    expect(peakRss - before.rss).toBeLessThan(48 * 1048576);
    expect(filesUnder(path.join(dataDir, 'files'))).toEqual([]);
  });
});

describe('upload quota and rate', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chatbox-quota-'));
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ DATA_DIR: dataDir, UPLOAD_QUOTA_BYTES: '100', UPLOAD_RATE_LIMIT_PER_MINUTE: '4' });
  });

  afterAll(async () => {
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps each user within UPLOAD_QUOTA_BYTES (deleting makes room) and UPLOAD_RATE_LIMIT_PER_MINUTE', async () => {
    const token = await signToken(t.env.JWT_SECRET, { sub: 'quota-user' });
    const upload = (bytes: number) => uploadFile(t.baseUrl, token, Buffer.alloc(bytes, 'q'), 'q.txt');
    const first = await upload(60);
    expect(first.status).toBe(201);
    expect(await upload(60)).toMatchObject({ status: 413, body: { code: 'quota_exceeded' } });
    const removed = await fetch(`${t.baseUrl}/chatbox/files/${first.body.fileId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(removed.status).toBe(204);
    expect((await upload(100)).status).toBe(201);
    // Full: refused before the body is read.
    expect(await upload(1)).toMatchObject({ status: 413, body: { code: 'quota_exceeded' } });
    expect(await upload(1)).toMatchObject({ status: 429, body: { code: 'rate_limited' } });
  });

  it('never lets uploads racing for room for one overshoot the quota together: at most one in, the others quota_exceeded', async () => {
    const token = await signToken(t.env.JWT_SECRET, { sub: 'racing-user' });
    const answers = await Promise.all(
      [1, 2, 3].map(() => uploadFile(t.baseUrl, token, Buffer.alloc(60, 'r'), 'r.txt')),
    );
    const refused = answers.filter((a) => a.status !== 201);
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(refused.map((a) => a.body.code)).toEqual(refused.map(() => 'quota_exceeded'));
  });
});
