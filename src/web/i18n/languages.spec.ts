import { pickLanguage } from './languages';

describe('pickLanguage', () => {
  it('takes the query parameter when it names a language we have', () => {
    expect(pickLanguage('fr', 'en-US,en;q=0.9')).toBe('fr');
    expect(pickLanguage('FR', undefined)).toBe('fr');
  });

  it('falls back to Accept-Language when the query names a language we lack', () => {
    expect(pickLanguage('de', 'fr-CA,fr;q=0.9')).toBe('fr');
  });

  it('ranks Accept-Language by quality, then by order, and skips q=0', () => {
    expect(pickLanguage(undefined, 'de;q=1, en;q=0.5, fr;q=0.8')).toBe('fr');
    expect(pickLanguage(undefined, 'fr;q=0, en;q=0.1')).toBe('en');
    expect(pickLanguage(undefined, 'fr, en')).toBe('fr');
  });

  it('answers English for a missing, empty or garbled header', () => {
    expect(pickLanguage(undefined, undefined)).toBe('en');
    expect(pickLanguage(undefined, '')).toBe('en');
    expect(pickLanguage(undefined, ';;;q=abc,,')).toBe('en');
  });
});
