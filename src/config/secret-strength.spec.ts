import { randomBytes, randomInt } from 'node:crypto';
import { checkSecretStrength, describeSecretProblem, estimateSecretBits, MIN_RANDOMNESS } from './secret-strength';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const PRINTABLE = ALNUM + '!#%&()*+,-./:;<=>?@[]^_{|}~';
const randomString = (alphabet: string, length: number) =>
  Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');

// How operators generate keys: openssl rand -base64 32 / -hex 32, password managers, pwgen.
const RANDOM_KEYS: Record<string, () => string> = {
  'base64 of 32 bytes': () => randomBytes(32).toString('base64'),
  'base64url of 32 bytes': () => randomBytes(32).toString('base64url'),
  'hex of 32 bytes': () => randomBytes(32).toString('hex'),
  '32 random letters and digits': () => randomString(ALNUM, 32),
  '40 random printable characters': () => randomString(PRINTABLE, 40),
};

// Long enough and free of placeholder markers, yet chosen by a person.
const HUMAN_PHRASES = [
  'my-super-secret-jwt-key-for-production-2024',
  'thisismysupersecretkeyforjwttokens',
  'ILoveMyDogRexAndMyCatTom1985!!xyz',
  'correct horse battery staple horse battery',
  'the quick brown fox jumps over the lazy dog',
  'SuperSecretPasswordForTheChatboxService2026',
  'chatbox-production-jwt-signing-secret-v2',
  'ourcompanyname-secret-key-do-not-share!',
  'JohnSmith1985-LovesPizza&Beer-ForEver',
  'Tr0ub4dor&3-is-my-very-own-secret-phrase',
  'Password123Password123Password123!',
  'qwertyuiopasdfghjklzxcvbnm1234567890',
  'abcdefghijklmnopqrstuvwxyz0123456789',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
];

describe('checkSecretStrength', () => {
  it.each(Object.entries(RANDOM_KEYS))('accepts every sampled random key: %s', (_name, generate) => {
    for (let i = 0; i < 25; i++) {
      const key = generate();
      expect({ key, problem: checkSecretStrength(key) }).toEqual({ key, problem: undefined });
    }
  });

  it.each(HUMAN_PHRASES)('refuses the human-chosen phrase %s as low entropy', (phrase) => {
    expect(checkSecretStrength(phrase)).toMatchObject({ kind: 'low_entropy' });
  });

  it('reports a missing or blank secret', () => {
    expect(checkSecretStrength(undefined)).toEqual({ kind: 'missing' });
    expect(checkSecretStrength('   ')).toEqual({ kind: 'missing' });
  });

  it.each(['PLACEHOLDER', 'REPLACE_WITH', 'CHANGE_ME', 'CHANGEME', 'YOUR-', 'EXAMPLE'])(
    'refuses a random key carrying the placeholder marker %s, in any case',
    (marker) => {
      const key = `${randomBytes(32).toString('base64')}${marker.toLowerCase()}`;
      expect(checkSecretStrength(key)).toEqual({ kind: 'placeholder', marker: expect.any(String) as string });
    },
  );

  it('refuses fewer than 32 bytes of key material, counting bytes not characters', () => {
    expect(checkSecretStrength(randomBytes(16).toString('hex').slice(0, 31))).toEqual({ kind: 'too_short', bytes: 31 });
    expect(checkSecretStrength(randomBytes(32).toString('base64'), 16)).toEqual({ kind: 'too_short', bytes: 16 });
  });

  it('refuses a published weak secret even though it is long', () => {
    expect(checkSecretStrength('a-string-secret-at-least-256-bits-long')).toEqual({ kind: 'weak_list' });
  });

  it('estimates random keys near their alphabet maximum and phrases far below it', () => {
    const hex = estimateSecretBits(randomBytes(32).toString('hex'));
    expect(hex.maxBits).toBe(256);
    expect(hex.bits).toBeGreaterThan(MIN_RANDOMNESS * hex.maxBits);
    const phrase = estimateSecretBits('the quick brown fox jumps over the lazy dog');
    expect(phrase.bits).toBeLessThan(MIN_RANDOMNESS * phrase.maxBits);
  });
});

describe('describeSecretProblem', () => {
  it('names the variable and the rule in every message', () => {
    const problems = [
      { kind: 'missing' },
      { kind: 'too_short', bytes: 5 },
      { kind: 'placeholder', marker: 'CHANGEME' },
      { kind: 'weak_list' },
      { kind: 'low_entropy', bits: 40, maxBits: 200 },
    ] as const;
    const messages = problems.map((p) => describeSecretProblem('JWT_SECRET', p));
    for (const message of messages) expect(message).toMatch(/^JWT_SECRET /);
    expect(messages[1]).toContain('5 bytes');
    expect(messages[2]).toContain('"CHANGEME"');
    expect(messages[4]).toContain('about 40 bits of estimated entropy, where a random key of its length has 200');
  });
});
