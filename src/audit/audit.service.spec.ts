import { Test } from '@nestjs/testing';
import { type AuditEntry, type AuditRecord, GENESIS_HASH, nextAuditRecord } from './audit-record';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';

const entry = (requestId = 'r1'): AuditEntry => ({
  action: 'watch',
  actor: { kind: 'admin', id: 'a1' },
  sessionId: 's1',
  requestId,
});
const duplicate = () => Object.assign(new Error('E11000 duplicate key error'), { code: 11000 });

/** The collection in memory, with its unique `_id`; counts every call, and has no other methods. */
class FakeAuditRepository {
  readonly records = new Map<number, AuditRecord>();
  readonly calls = { newest: 0, findBySeq: 0, insert: 0 };
  inFlight = 0;
  maxInFlight = 0;
  /** Runs before each insert is applied: another writer acting in between, or a failure. */
  beforeInsert: (record: AuditRecord) => Promise<void> | void = () => undefined;

  newest(): Promise<AuditRecord | null> {
    this.calls.newest++;
    const seqs = [...this.records.keys()];
    return Promise.resolve(seqs.length ? this.records.get(Math.max(...seqs))! : null);
  }

  findBySeq(seq: number): Promise<AuditRecord | null> {
    this.calls.findBySeq++;
    return Promise.resolve(this.records.get(seq) ?? null);
  }

  async insert(record: AuditRecord): Promise<void> {
    this.calls.insert++;
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      await new Promise((resolve) => setImmediate(resolve));
      await this.beforeInsert(record);
      if (this.records.has(record._id)) throw duplicate();
      this.records.set(record._id, record);
    } finally {
      this.inFlight--;
    }
  }

  /** What another replica's append looks like from here. */
  appendElsewhere(count: number): void {
    for (let i = 0; i < count; i++) {
      const head = this.records.get(this.records.size) ?? null;
      const record = nextAuditRecord(head, entry('elsewhere'), new Date());
      this.records.set(record._id, record);
    }
  }
}

describe(AuditService.name, () => {
  let repository: FakeAuditRepository;
  let sut: AuditService;

  beforeEach(async () => {
    repository = new FakeAuditRepository();
    const moduleRef = await Test.createTestingModule({
      providers: [AuditService, { provide: AuditRepository, useValue: repository }],
    }).compile();
    sut = moduleRef.get(AuditService);
  });

  const chainIsWhole = () => {
    const records = [...repository.records.values()].sort((a, b) => a._id - b._id);
    records.forEach((record, i) => {
      expect(record._id).toBe(i + 1);
      expect(record.prevHash).toBe(i === 0 ? GENESIS_HASH : records[i - 1].hash);
    });
  };

  it('reads the head once and then appends after the record it stored last', async () => {
    for (let i = 0; i < 3; i++) await sut.record(entry(`r${i}`));
    expect(repository.calls).toEqual({ newest: 1, findBySeq: 0, insert: 3 });
    chainIsWhole();
  });

  it('stores concurrent calls of one process one at a time, so they never collide', async () => {
    const records = await Promise.all(Array.from({ length: 10 }, (_, i) => sut.record(entry(`r${i}`))));
    expect(records.map((r) => r._id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect([repository.maxInFlight, repository.calls.insert]).toEqual([1, 10]);
    chainIsWhole();
  });

  it('follows records other replicas stored since, by id, and appends after the last of them', async () => {
    await sut.record(entry());
    repository.appendElsewhere(3);
    expect(await sut.record(entry('mine'))).toMatchObject({ _id: 5, requestId: 'mine' });
    expect(repository.calls).toEqual({ newest: 1, findBySeq: 4, insert: 3 });
    chainIsWhole();
  });

  it('reads the head again when far behind, rather than following every record', async () => {
    await sut.record(entry());
    repository.appendElsewhere(40);
    expect(await sut.record(entry('mine'))).toMatchObject({ _id: 42 });
    expect(repository.calls.newest).toBe(2);
    expect(repository.calls.findBySeq).toBeLessThan(20);
    chainIsWhole();
  });

  it('continues a record that took the place it read, when the first insert loses a race', async () => {
    let raced = false;
    repository.beforeInsert = () => {
      if (!raced) repository.appendElsewhere(1);
      raced = true;
    };
    expect(await sut.record(entry('mine'))).toMatchObject({ _id: 2 });
    chainIsWhole();
  });

  it('gives up with busy after losing 20 races in a row, storing nothing', async () => {
    repository.beforeInsert = () => repository.appendElsewhere(1);
    await expect(sut.record(entry('mine'))).rejects.toMatchObject({ name: 'AppError', code: 'busy' });
    expect(repository.calls.insert).toBe(20);
    expect([...repository.records.values()].filter((r) => r.requestId === 'mine')).toEqual([]);
    chainIsWhole();
  });

  it('throws any other error at once, leaving retries of transient failures to the caller, and goes on after it', async () => {
    const down = Object.assign(new Error('connection closed'), { name: 'MongoNetworkError' });
    repository.beforeInsert = () => Promise.reject(down);
    await expect(sut.record(entry())).rejects.toBe(down);
    expect(repository.calls.insert).toBe(1);
    repository.beforeInsert = () => undefined;
    expect(await sut.record(entry())).toMatchObject({ _id: 1 });
  });
});
