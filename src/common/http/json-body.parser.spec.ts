import fc from 'fast-check';
import { JSON_BODY_LIMITS, jsonBodyProblem } from './json-body.parser';

/** The plain recursive definition the iterative walk must agree with. */
function measure(value: unknown): { depth: number; entries: number } {
  if (value === null || typeof value !== 'object') return { depth: 0, entries: 0 };
  const children = Object.values(value).map(measure);
  return {
    depth: 1 + Math.max(0, ...children.map((c) => c.depth)),
    entries: children.length + children.reduce((sum, c) => sum + c.entries, 0),
  };
}

describe('jsonBodyProblem', () => {
  it('accepts an object within the limits', () => {
    expect(jsonBodyProblem({ expiresInSeconds: 60, tags: ['a', { b: [1, 2] }] })).toBeUndefined();
  });

  it.each([null, [], 'text', 42, true])('refuses %p: a body is an object', (body) => {
    expect(jsonBodyProblem(body)).toBe('The body must be a JSON object');
  });

  it('refuses a 10,000-deep array without recursing', () => {
    const deep = JSON.parse(`{"a":${'['.repeat(10000)}${']'.repeat(10000)}}`) as unknown;
    expect(jsonBodyProblem(deep)).toMatch(/deeper than 8/);
  });

  it('agrees with the recursive definition on any JSON value (property)', () => {
    const limits = { depth: 4, entries: 12 };
    const outcomes = new Set<string | undefined>();
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 6 })), (body) => {
        const { depth, entries } = measure(body);
        const problem = jsonBodyProblem(body, limits);
        outcomes.add(problem?.replace(/ .*(deeper|keys).*/, ' $1'));
        expect(problem === undefined).toBe(depth <= limits.depth && entries <= limits.entries);
      }),
      {
        numRuns: 500,
        // One body of each verdict always runs, so the oracle's every branch is checked, not only the drawn ones.
        examples: [[{ a: 1 }], [{ a: [[[[[1]]]]] }], [{ a: Array.from({ length: 20 }, (_, i) => i) }]],
      },
    );
    expect(outcomes).toEqual(new Set([undefined, 'The deeper', 'The keys']));
  });

  it('counts keys and array items together', () => {
    const items = Array.from({ length: JSON_BODY_LIMITS.entries }, (_, i) => i);
    expect(jsonBodyProblem({ items: items.slice(1) })).toBeUndefined();
    expect(jsonBodyProblem({ items })).toMatch(/more than 1000 keys and items/);
  });
});
