/** The languages the pages are translated into; the first is the fallback. */
export const LANGUAGES = ['en', 'fr'] as const;
export type Language = (typeof LANGUAGES)[number];

const isLanguage = (tag: string): tag is Language => (LANGUAGES as readonly string[]).includes(tag);

/**
 * The page's language: `?lang=` when it names one we have, else the best of Accept-Language by quality
 * (a region such as `fr-CA` counts as its language), else English.
 */
export function pickLanguage(query: string | undefined, acceptLanguage: string | undefined): Language {
  const asked = query?.toLowerCase();
  if (asked && isLanguage(asked)) return asked;
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part, order) => {
      const [range, ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { tag: range.trim().toLowerCase().split('-')[0], q: q === undefined ? 1 : Number(q), order };
    })
    .filter(({ q }) => q > 0 && Number.isFinite(q))
    .sort((a, b) => b.q - a.q || a.order - b.order);
  return (ranked.find(({ tag }) => isLanguage(tag))?.tag as Language | undefined) ?? LANGUAGES[0];
}
