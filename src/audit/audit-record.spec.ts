import fc from 'fast-check';
import { type AuditEntry, canonicalJson, GENESIS_HASH, hashAuditRecord, nextAuditRecord } from './audit-record';

const entry = (overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  action: 'takeover',
  actor: { kind: 'admin', id: 'a1', name: 'Ann' },
  sessionId: 's1',
  requestId: 'r1',
  ...overrides,
});
const at = new Date('2025-01-02T03:04:05.678Z');

describe(canonicalJson.name, () => {
  it('sorts keys at every level, writes dates as ISO strings and leaves undefined members out', () => {
    const value = { b: 1, a: { d: [2, undefined, { f: true, e: 'x' }], c: at }, z: undefined };
    expect(canonicalJson(value)).toBe('{"a":{"c":"2025-01-02T03:04:05.678Z","d":[2,null,{"e":"x","f":true}]},"b":1}');
  });

  it('writes values with a toJSON (BSON types) through it, and null as null', () => {
    expect(canonicalJson({ id: { toJSON: () => 'abc' }, n: null })).toBe('{"id":"abc","n":null}');
  });

  it('gives the same text for the same object built in any key order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean())), (object) => {
        const reversed = Object.fromEntries(Object.entries(object).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(object));
      }),
    );
  });
});

describe(nextAuditRecord.name, () => {
  it('starts the chain at 1 on the genesis hash and links the next record to it', () => {
    const first = nextAuditRecord(null, entry(), at);
    const second = nextAuditRecord(first, entry({ action: 'release' }), at);
    expect(first).toMatchObject({ _id: 1, prevHash: GENESIS_HASH, at });
    expect(second).toMatchObject({ _id: 2, prevHash: first.hash, action: 'release' });
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashAuditRecord(second)).toBe(second.hash);
  });

  it('hashes every field, so changing any one changes the hash', () => {
    const base = nextAuditRecord(null, entry({ details: { cause: 'idle' } }), at);
    const changed = [
      { ...base, _id: 2 },
      { ...base, at: new Date(at.getTime() + 1) },
      { ...base, action: 'watch' },
      { ...base, actor: { ...base.actor, name: 'Bob' } },
      { ...base, sessionId: 's2' },
      { ...base, requestId: 'r2' },
      { ...base, details: { cause: 'admin' } },
      { ...base, prevHash: '1'.repeat(64) },
      { ...base, extra: 1 },
    ];
    for (const record of changed) expect(hashAuditRecord(record)).not.toBe(base.hash);
  });

  it('stores no empty details and no undefined members, which the database would drop or turn into null', () => {
    const record = nextAuditRecord(
      null,
      entry({ actor: { kind: 'system', id: 'sweeper', name: undefined }, details: {} }),
      at,
    );
    expect(Object.keys(record)).not.toContain('details');
    expect(record.actor).toEqual({ kind: 'system', id: 'sweeper' });
    const partial = nextAuditRecord(
      null,
      entry({ details: { cause: 'idle', by: undefined as unknown as string } }),
      at,
    );
    expect(partial.details).toEqual({ cause: 'idle' });
    expect(Object.keys(partial.details!)).toEqual(['cause']);
  });
});
