import { randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { SessionNameIndex } from './session-name-index';

const keys = { old: randomBytes(32), now: randomBytes(32) };
const indexWith = (activeKeyId: keyof typeof keys, ids: (keyof typeof keys)[]) =>
  new SessionNameIndex({
    encryption: { activeKeyId, keys: new Map(ids.map((id) => [id, keys[id]])) },
  } as unknown as AppConfig);

describe(SessionNameIndex.name, () => {
  const index = indexWith('now', ['now']);
  const finds = (sut: SessionNameIndex, name: string, prefix: string) =>
    sut.lookups(prefix).some((entry) => sut.entries(name).includes(entry));

  it('finds a name by any prefix of three characters or more, in any case and width', () => {
    for (const prefix of ['ref', 'Refund', 'REFUND FOR', 'ｒｅｆｕｎｄ', 'refund for order 42']) {
      expect(finds(index, 'Refund for order 42', prefix)).toBe(true);
    }
  });

  it('finds nothing by a part that is not a prefix, or by a longer text', () => {
    for (const prefix of ['order', 'efund', 'refund for order 42!']) {
      expect(finds(index, 'Refund for order 42', prefix)).toBe(false);
    }
  });

  it('indexes one entry per prefix from three characters, and none of the name itself', () => {
    const entries = index.entries('Refund');
    expect(entries).toHaveLength(4);
    expect(entries).not.toEqual(expect.arrayContaining(['ref', 'refu', 'refun', 'refund']));
    expect(index.entries('Hi')).toEqual([]);
  });

  it('keys the hashes: another key gives other entries', () => {
    expect(indexWith('old', ['old']).entries('Refund')).not.toEqual(index.entries('Refund'));
  });

  it('still finds names indexed under a key that was active before a rotation', () => {
    const before = indexWith('old', ['old']).entries('Refund for order 42');
    const after = indexWith('now', ['now', 'old']);
    expect(after.lookups('refund').some((entry) => before.includes(entry))).toBe(true);
  });
});
