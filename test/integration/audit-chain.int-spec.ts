import { randomBytes } from 'node:crypto';
import { getConnectionToken, getModelToken, MongooseModule } from '@nestjs/mongoose';
import { Test, TestingModule } from '@nestjs/testing';
import { Connection, Model, mongo } from 'mongoose';
import { type AuditEntry, type AuditRecord, hashAuditRecord } from '../../src/audit/audit-record';
import { AuditModule } from '../../src/audit/audit.module';
import { AuditService } from '../../src/audit/audit.service';
import { AuditRecordDoc } from '../../src/audit/schemas/audit-record.schema';
import { verifyAuditChain } from '../../src/audit/verify-audit-chain';
import { runAuditVerify } from '../../src/audit/verify-audit';
import { testMongoUri } from '../utils/test-app';

// A database of this file's own; each test starts from an empty log.
const uri = testMongoUri(`audit_int_${randomBytes(4).toString('hex')}`);

/** One replica's view: its own Mongoose connection and AuditService. */
async function replica(): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({ imports: [MongooseModule.forRoot(uri), AuditModule] }).compile();
  return moduleRef.init();
}

const entry = (n: number, overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  action: 'takeover',
  actor: { kind: 'admin', id: `admin-${n % 3}`, name: 'Ann' },
  sessionId: `session-${n}`,
  requestId: `request-${n}`,
  details: { attempt: n, forced: n % 2 === 0 },
  ...overrides,
});

describe(AuditService.name, () => {
  let first: TestingModule;
  let second: TestingModule;
  let sut: AuditService;
  let audit: mongo.Collection<AuditRecord>;

  const appendSequentially = async (count: number) => {
    const records: AuditRecord[] = [];
    for (let n = 1; n <= count; n++) records.push(await sut.record(entry(n)));
    return records;
  };

  // New replicas for every test: each remembers the head it last saw, and every test starts an empty log.
  beforeEach(async () => {
    [first, second] = await Promise.all([replica(), replica()]);
    sut = first.get(AuditService);
    audit = first.get<Connection>(getConnectionToken()).db!.collection<AuditRecord>('audit');
    await audit.deleteMany({});
  });
  afterEach(() => Promise.all([first?.close(), second?.close()]));

  it('appends records one after another as a chain from 1, each naming the hash of the one before', async () => {
    const records = await appendSequentially(5);
    const stored = await audit.find().sort({ _id: 1 }).toArray();
    expect(stored).toEqual(records);
    expect(stored.map((r) => r._id)).toEqual([1, 2, 3, 4, 5]);
    expect(stored[0].prevHash).toBe('0'.repeat(64));
    for (let i = 1; i < stored.length; i++) expect(stored[i].prevHash).toBe(stored[i - 1].hash);
    for (const record of stored) expect(hashAuditRecord(record)).toBe(record.hash);
    expect(await verifyAuditChain(audit)).toEqual({
      ok: true,
      checked: 5,
      problems: [],
      head: { seq: 5, hash: records[4].hash },
    });
  });

  it('keeps one unbroken chain when two replicas on two connections append 50 records at once', async () => {
    const other = second.get(AuditService);
    const records = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? sut : other).record(entry(i + 1))),
    );
    expect(records.map((r) => r._id).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const stored = await audit.find().sort({ _id: 1 }).toArray();
    expect(stored.map((r) => r._id)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(stored.map((r) => r.requestId).sort()).toEqual(records.map((r) => r.requestId).sort());
    expect(new Set(stored.map((r) => r.requestId)).size).toBe(50);
    expect(await verifyAuditChain(audit)).toMatchObject({ ok: true, checked: 50, problems: [] });
  });

  it('appends after records another replica stored since, near or far behind', async () => {
    const other = second.get(AuditService);
    await sut.record(entry(1));
    for (let n = 2; n <= 4; n++) await other.record(entry(n));
    expect(await sut.record(entry(5))).toMatchObject({ _id: 5 });
    for (let n = 6; n <= 30; n++) await other.record(entry(n));
    expect(await sut.record(entry(31))).toMatchObject({ _id: 31 });
    expect(await other.record(entry(32))).toMatchObject({ _id: 32 });
    expect(await verifyAuditChain(audit)).toMatchObject({ ok: true, checked: 32 });
  });

  it('stores nothing for an action or actor kind it does not know, and says why', async () => {
    await expect(sut.record(entry(1, { action: 'delete' as AuditEntry['action'] }))).rejects.toMatchObject({
      name: 'ValidationError',
      errors: { action: expect.anything() as unknown },
    });
    const actor = { kind: 'robot', id: 'r1' } as unknown as AuditEntry['actor'];
    await expect(sut.record(entry(1, { actor }))).rejects.toMatchObject({
      name: 'ValidationError',
      errors: { 'actor.kind': expect.anything() as unknown },
    });
    expect(await audit.countDocuments()).toBe(0);
    expect(await sut.record(entry(1, { actor: { kind: 'system', id: 'sweeper' } }))).toMatchObject({ _id: 1 });
    expect(await verifyAuditChain(audit)).toMatchObject({ ok: true, checked: 1 });
  });

  describe(verifyAuditChain.name, () => {
    it('reports hash_mismatch at the one record whose field was edited with the driver', async () => {
      await appendSequentially(5);
      await audit.updateOne({ _id: 3 }, { $set: { sessionId: 'another-session' } });
      expect(await verifyAuditChain(audit)).toMatchObject({
        ok: false,
        checked: 5,
        problems: [{ seq: 3, kind: 'hash_mismatch', detail: expect.stringContaining('recomputed') as unknown }],
      });
    });

    it('reports hash_mismatch for a field added to a record, and for an edited date or detail', async () => {
      await appendSequentially(4);
      await audit.updateOne({ _id: 1 }, { $set: { note: 'added later' } });
      await audit.updateOne({ _id: 2 }, { $set: { at: new Date(0) } });
      await audit.updateOne({ _id: 4 }, { $set: { 'details.forced': false } });
      const { problems } = await verifyAuditChain(audit);
      expect(problems.map((p) => [p.seq, p.kind])).toEqual([
        [1, 'hash_mismatch'],
        [2, 'hash_mismatch'],
        [4, 'hash_mismatch'],
      ]);
    });

    it('reports broken_link at the next record when an edited record was given a fresh hash', async () => {
      const records = await appendSequentially(5);
      const forged = { ...records[2], actor: { kind: 'system' as const, id: 'nobody' } };
      await audit.replaceOne({ _id: 3 }, { ...forged, hash: hashAuditRecord(forged) });
      expect((await verifyAuditChain(audit)).problems).toEqual([
        { seq: 4, kind: 'broken_link', detail: 'prevHash does not match the hash of record 3' },
      ]);
    });

    it('reports a record deleted from the middle, or the first, as missing', async () => {
      await appendSequentially(6);
      await audit.deleteOne({ _id: 3 });
      expect(await verifyAuditChain(audit)).toMatchObject({
        ok: false,
        checked: 5,
        problems: [{ seq: 3, kind: 'missing', detail: 'record 3 is missing' }],
      });
      await audit.deleteMany({ _id: { $in: [1, 2] } });
      expect((await verifyAuditChain(audit)).problems).toEqual([
        { seq: 1, kind: 'missing', detail: 'records 1 to 3 are missing' },
      ]);
    });

    it('reports a first record that does not start from the genesis hash as a broken link', async () => {
      await appendSequentially(2);
      await audit.updateOne({ _id: 1 }, { $set: { prevHash: 'f'.repeat(64) } });
      expect((await verifyAuditChain(audit)).problems.map((p) => [p.seq, p.kind])).toEqual([
        [1, 'broken_link'],
        [1, 'hash_mismatch'],
      ]);
    });

    it('reports a record whose _id is no position in the chain, and checks the chain around it', async () => {
      const records = await appendSequentially(3);
      const raw = audit as unknown as mongo.Collection<{ _id: unknown }>;
      await raw.insertMany([
        { ...records[1], _id: 2.5 },
        { ...records[1], _id: 'forged' },
      ]);
      expect((await verifyAuditChain(audit)).problems).toEqual([
        { seq: 2, kind: 'broken_link', detail: '_id 2.5 is not a position in the chain (it sorts after record 2)' },
        {
          seq: 3,
          kind: 'broken_link',
          detail: '_id "forged" is not a position in the chain (it sorts after record 3)',
        },
      ]);
    });

    it('walks the log in pages, finding problems across page boundaries, and lists at most maxProblems', async () => {
      await appendSequentially(7);
      expect(await verifyAuditChain(audit, { pageSize: 2 })).toMatchObject({ ok: true, checked: 7 });
      await audit.deleteOne({ _id: 5 });
      await audit.updateOne({ _id: 2 }, { $set: { requestId: 'x' } });
      await audit.updateOne({ _id: 7 }, { $set: { requestId: 'y' } });
      expect((await verifyAuditChain(audit, { pageSize: 2 })).problems.map((p) => [p.seq, p.kind])).toEqual([
        [2, 'hash_mismatch'],
        [5, 'missing'],
        [7, 'hash_mismatch'],
      ]);
      expect(await verifyAuditChain(audit, { pageSize: 2, maxProblems: 2 })).toMatchObject({
        ok: false,
        checked: 6,
        problems: [{ seq: 2 }, { seq: 5 }],
      });
    });

    it('reads through a Mongoose model as well as a driver collection', async () => {
      await appendSequentially(2);
      const model = second.get<Model<AuditRecordDoc>>(getModelToken(AuditRecordDoc.name));
      expect(await verifyAuditChain(model)).toMatchObject({ ok: true, checked: 2, head: { seq: 2 } });
    });

    it('cannot see records deleted from the end: the shorter chain is whole, only its head differs', async () => {
      const records = await appendSequentially(5);
      await audit.deleteMany({ _id: { $gt: 3 } });
      expect(await verifyAuditChain(audit)).toEqual({
        ok: true,
        checked: 3,
        problems: [],
        head: { seq: 3, hash: records[2].hash },
      });
    });

    it('calls an empty log whole', async () => {
      expect(await verifyAuditChain(audit)).toEqual({ ok: true, checked: 0, problems: [], head: null });
    });
  });

  describe(runAuditVerify.name, () => {
    const run = async (env: NodeJS.ProcessEnv) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runAuditVerify(env, { out: (line) => out.push(line), err: (line) => err.push(line) });
      return { code, out, err };
    };

    it('prints the report as one JSON line and returns 0 while the chain holds, 1 once it does not', async () => {
      await appendSequentially(3);
      const good = await run({ MONGODB_URI: uri });
      expect(good).toMatchObject({ code: 0, err: [] });
      expect(JSON.parse(good.out.join('\n'))).toMatchObject({ ok: true, checked: 3, head: { seq: 3 } });

      await audit.updateOne({ _id: 2 }, { $set: { action: 'watch' } });
      const bad = await run({ MONGODB_URI: uri });
      expect(bad.code).toBe(1);
      expect(JSON.parse(bad.out.join('\n'))).toMatchObject({
        ok: false,
        problems: [{ seq: 2, kind: 'hash_mismatch' }],
      });
    });

    it('returns 2 naming MONGODB_URI when it is unset', async () => {
      expect(await run({})).toEqual({
        code: 2,
        out: [],
        err: [expect.stringContaining('MONGODB_URI is not set') as unknown],
      });
    });

    it('returns 2 when the database cannot be reached', async () => {
      const { code, out, err } = await run({ MONGODB_URI: 'mongodb://127.0.0.1:1/audit' });
      expect([code, out]).toEqual([2, []]);
      expect(err.join('\n')).toContain('Cannot connect to the database at MONGODB_URI');
    });
  });
});
