const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

export const SESSION_NAME_MAX = 50;
// Intl.Segmenter costs more than linear time in the length of what it is given (half a second for
// 10,000 emoji), so it only ever sees a prefix: room for 50 graphemes of up to 32 code units each,
// more than any emoji sequence in practice needs.
export const SESSION_NAME_PREFIX_UNITS = SESSION_NAME_MAX * 32;

/** A session's name from its first user message: one line, at most 50 graphemes, never a split character. */
export function sessionNameFrom(content: string): string {
  const text = content.trim();
  const cut = text.length > SESSION_NAME_PREFIX_UNITS;
  const line = (cut ? text.slice(0, SESSION_NAME_PREFIX_UNITS) : text).replace(/\s+/g, ' ');
  const graphemes = Array.from(segmenter.segment(line), (g) => g.segment);
  // The cut may fall inside the last grapheme, even between the halves of a surrogate pair: it is dropped.
  if (cut) graphemes.pop();
  if (!cut && graphemes.length <= SESSION_NAME_MAX) return line;
  return graphemes
    .slice(0, SESSION_NAME_MAX - 1)
    .join('')
    .trimEnd()
    .concat('…');
}
