const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

export const SESSION_NAME_MAX = 50;

/** A session's name from its first user message: one line, at most 50 graphemes, never a split character. */
export function sessionNameFrom(content: string): string {
  const line = content.replace(/\s+/g, ' ').trim();
  const graphemes = [...segmenter.segment(line)];
  if (graphemes.length <= SESSION_NAME_MAX) return line;
  return graphemes
    .slice(0, SESSION_NAME_MAX - 1)
    .map((g) => g.segment)
    .join('')
    .trimEnd()
    .concat('…');
}
