import { ERRORS } from '../../common/errors/error-codes';
import { translator } from './catalogue';
import { en } from './en';
import { LANGUAGES } from './languages';

describe('the pages’ string catalogues', () => {
  it('say something readable for every error code, in every language', () => {
    for (const lang of LANGUAGES) {
      const t = translator(lang);
      for (const code of Object.keys(ERRORS)) {
        const key = `error.${code}` as keyof typeof en;
        expect({ lang, code, translated: !t(key).startsWith('error.') }).toEqual({ lang, code, translated: true });
      }
    }
  });

  it('fill placeholders and leave unknown ones as they are', () => {
    expect(translator('fr')('chat.adminJoined', { name: 'Grace' })).toBe('Grace a rejoint la discussion.');
    expect(translator('en')('chat.typing')).toBe('{name} is typing…');
  });

  it('answer a key they lack as the key itself', () => {
    expect(translator('en')('error.brand_new' as keyof typeof en)).toBe('error.brand_new');
  });
});
