import { validateSync } from 'class-validator';
import fc from 'fast-check';
import { IsNotBlank, IsNotBlankOrEmptyIf, isBlankText } from './not-blank.decorator';
import { IsWellFormed, isWellFormedText } from './well-formed.decorator';

class Text {
  @IsWellFormed() @IsNotBlank() value!: unknown;
}

const errorsOf = (value: unknown) =>
  validateSync(Object.assign(new Text(), { value })).flatMap((e) => Object.keys(e.constraints ?? {}));

describe('text rules', () => {
  it.each(['a\uD800b', '\uDC00', 'x\uDBFF', '\uDC00\uD800'])('refuses the lone surrogate in %j', (text) => {
    expect(isWellFormedText(text)).toBe(false);
    expect(errorsOf(text)).toContain('isWellFormed');
  });

  it('accepts surrogate pairs, emoji sequences and plain text', () => {
    for (const text of ['😀', '👨‍👩‍👧‍👦', '🇫🇷', 'e\u0301', 'hello']) {
      expect(errorsOf(text)).toEqual([]);
    }
  });

  it.each([
    ['empty', ''],
    ['spaces and newlines', ' \n\t\r '],
    ['zero-width characters', '\u200B\u200C\u200D\u2060\uFEFF'],
    ['bidi and format marks', '\u200E\u200F\u202E\u2066\u00AD'],
    ['Hangul fillers and variation selectors', '\u3164\u115F\uFE0F'],
    ['control characters', '\u0000\u0007'],
    ['a mix', ' \u200B\u3000\u00A0\u2028'],
  ])('judges %s as blank', (_label, text) => {
    expect(isBlankText(text)).toBe(true);
    expect(errorsOf(text)).toContain('isNotBlank');
  });

  it('finds visible text among invisible characters', () => {
    expect(isBlankText('\u200B a \u200B')).toBe(false);
    expect(isBlankText('\u200D😀')).toBe(false);
  });

  it('refuses what is not a string', () => {
    for (const value of [null, 42, ['a'], { a: 1 }]) {
      expect(errorsOf(value)).toEqual(expect.arrayContaining(['isWellFormed', 'isNotBlank']));
    }
  });

  it('agrees with a code-point walk on any string (property)', () => {
    const walk = (text: string) => {
      for (let i = 0; i < text.length; i++) {
        const unit = text.charCodeAt(i);
        if (unit >= 0xd800 && unit <= 0xdbff) {
          const next = text.charCodeAt(i + 1);
          if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
          i += 1;
        } else if (unit >= 0xdc00 && unit <= 0xdfff) {
          return false;
        }
      }
      return true;
    };
    // UTF-16 code units, half of them near the surrogate range, so pairs, lone halves and neighbours all occur.
    const unit = fc.oneof(fc.integer({ min: 0xd7f0, max: 0xe00f }), fc.integer({ min: 0, max: 0xffff }));
    const text = fc.array(unit, { maxLength: 12 }).map((units) => String.fromCharCode(...units));
    const outcomes = new Set<boolean>();
    fc.assert(
      fc.property(text, (t) => {
        outcomes.add(walk(t));
        return isWellFormedText(t) === walk(t);
      }),
      { numRuns: 1000 },
    );
    expect(outcomes).toEqual(new Set([true, false]));
  });

  it("takes '' only when the object allows it (a message with files), and never blank text", () => {
    class Message {
      @IsNotBlankOrEmptyIf((m) => ((m as Message).fileIds?.length ?? 0) > 0) content!: unknown;
      fileIds?: string[];
    }
    const errors = (content: unknown, fileIds?: string[]) =>
      validateSync(Object.assign(new Message(), { content, fileIds })).flatMap((e) => Object.keys(e.constraints ?? {}));
    expect(errors('', ['f'])).toEqual([]);
    expect(errors('hi', ['f'])).toEqual([]);
    expect(errors('hi')).toEqual([]);
    for (const [content, fileIds] of [
      ['', undefined],
      ['', []],
      [' \u200b', ['f']],
      [null, ['f']],
    ] as const) {
      expect(errors(content, fileIds && [...fileIds])).toEqual(['isNotBlank']);
    }
  });
});
