import { SESSION_NAME_MAX, sessionNameFrom } from './session-name';

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
});
