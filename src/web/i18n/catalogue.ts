import { en, MessageKey } from './en';
import { fr } from './fr';
import { Language } from './languages';

export type { MessageKey } from './en';

const CATALOGUES: Record<Language, Record<MessageKey, string>> = { en, fr };

/**
 * A translator for `lang`: fills `{name}` placeholders from `vars`, leaving unknown ones as they are. A key
 * the catalogue lacks (an error code newer than the page) comes back as itself.
 */
export function translator(lang: Language) {
  const catalogue: Partial<Record<string, string>> = CATALOGUES[lang];
  return (key: MessageKey, vars: Record<string, string> = {}) =>
    (catalogue[key] ?? key).replace(/\{(\w+)\}/g, (whole, name: string) => vars[name] ?? whole);
}

export type Translate = ReturnType<typeof translator>;
