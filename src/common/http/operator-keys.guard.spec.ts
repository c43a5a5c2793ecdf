import { operatorKey } from './operator-keys.guard';

describe(operatorKey.name, () => {
  it.each([
    [{ $where: '1' }, '$where'],
    [{ 'filter[$ne]': '' }, 'filter[$ne]'],
    [{ a: { b: { $gt: '' } } }, 'a.b.$gt'],
    [{ list: [{ ok: 1 }, { 'x.y': 2 }] }, 'list[1].x.y'],
    [{ 'profile.name': 'x' }, 'profile.name'],
  ])('finds the operator key in %j', (value, path) => {
    expect(operatorKey(value)).toBe(path);
  });

  it.each([[{ a: 1, b: 'x.$y', c: ['$z', { d: null }] }], [null], ['$str'], [[1, 2]], [undefined]])(
    'finds none in %j (values may hold anything)',
    (value) => {
      expect(operatorKey(value)).toBeUndefined();
    },
  );
});
