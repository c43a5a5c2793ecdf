import { SESSION_NAME_MAX, SESSION_NAME_PREFIX_UNITS, sessionNameFrom } from './session-name';

describe('sessionNameFrom', () => {
  it('keeps a short first message as one trimmed line', () => {
    expect(sessionNameFrom('  Where is\n my   order? ')).toBe('Where is my order?');
  });

  it('cuts long text to 50 graphemes, never inside a character', () => {
    const family = '👨‍👩‍👧‍👦';
    const name = sessionNameFrom(family.repeat(60));
    const graphemes = [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(name)].map(
      (g) => g.segment,
    );
    expect(graphemes).toHaveLength(SESSION_NAME_MAX);
    expect(graphemes.slice(0, -1).every((g) => g === family)).toBe(true);
    expect(graphemes.at(-1)).toBe('…');
  });

  it('keeps combining marks with their letters', () => {
    const name = sessionNameFrom('e\u0301'.repeat(80));
    expect(name.normalize('NFC')).toBe(`${'é'.repeat(49)}…`);
  });

  describe('on the longest message (10,000 characters by default)', () => {
    // Counting the work: the length of every text handed to the segmenter.
    let segment: jest.SpiedFunction<Intl.Segmenter['segment']>;
    const segmented = () => segment.mock.calls.map(([input]) => input.length);
    beforeEach(() => (segment = jest.spyOn(Intl.Segmenter.prototype, 'segment')));
    afterEach(() => jest.restoreAllMocks());

    it.each([
      ['emoji', '😀'],
      ['flags', '🇫🇷'],
      ['families', '👨‍👩‍👧‍👦'],
      ['letters', 'a'],
    ])('segments only a bounded prefix of 10,000 characters of %s', (_label, unit) => {
      const name = sessionNameFrom(unit.repeat(Math.ceil(10000 / [...unit].length)));
      expect(Math.max(...segmented())).toBeLessThanOrEqual(SESSION_NAME_PREFIX_UNITS);
      expect(name).toBe(`${unit.repeat(SESSION_NAME_MAX - 1)}…`);
    });

    it('never ends on half a surrogate pair when the cut falls inside one', () => {
      const name = sessionNameFrom(`a${'😀'.repeat(SESSION_NAME_PREFIX_UNITS)}`);
      expect(/\p{Cs}/u.test(name)).toBe(false);
      expect(name).toBe(`a${'😀'.repeat(SESSION_NAME_MAX - 2)}…`);
    });

    it('drops a grapheme the prefix cuts, and marks the cut, even with fewer than 50 graphemes', () => {
      expect(sessionNameFrom(`Hi ${'e' + '\u0301'.repeat(5000)} there`)).toBe('Hi…');
    });

    it('ignores surrounding whitespace, however long', () => {
      expect(sessionNameFrom(`${' '.repeat(5000)}Where is my order?${'\n'.repeat(5000)}`)).toBe('Where is my order?');
    });
  });
});
