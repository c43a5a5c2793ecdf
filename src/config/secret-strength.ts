import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as en from '@zxcvbn-ts/language-en';
import { WEAK_SECRETS } from './weak-secrets';

export const MIN_SECRET_BYTES = 32;
export const MIN_SECRET_BITS = 128;
// A random key scores close to the most its alphabet and length allow; a phrase scores far less,
// because its words and numbers compress. Sampled 2,000 keys each of base64, base64url, hex,
// 32 letters and digits, and 40 printable characters: none below 0.72; phrases: none above 0.64.
export const MIN_RANDOMNESS = 0.68;

// Markers that show a value was copied from a template rather than generated.
const PLACEHOLDER_MARKERS = [
  'PLACEHOLDER',
  'REPLACE_WITH',
  'REPLACE-WITH',
  'CHANGE_ME',
  'CHANGE-ME',
  'CHANGEME',
  'YOUR-',
  'YOUR_',
  'EXAMPLE',
];

export type SecretProblem =
  | { kind: 'missing' }
  | { kind: 'too_short'; bytes: number }
  | { kind: 'placeholder'; marker: string }
  | { kind: 'weak_list' }
  | { kind: 'low_entropy'; bits: number; maxBits: number };

// Estimated bits a human-chosen dictionary word contributes (a vocabulary of ~2,000 words).
const WORD_BITS = 11;
// A separator between words is one of a handful of characters.
const SEPARATOR_BITS = 2;
// People append numbers (years, counters): a digit next to a digit is one of ten.
const DIGIT_RUN_BITS = Math.log2(10);
const SHORT_WORDS = ['a', 'i', 'am', 'an', 'as', 'at', 'be', 'by', 'do', 'go', 'he', 'if', 'in', 'is', 'it', 'me'];
const SHORT_WORDS_2 = ['my', 'no', 'of', 'ok', 'on', 'or', 'so', 'to', 'up', 'us', 'we'];
// zxcvbn finds repeats, sequences, keyboard walks and dates; below this many guesses a key is a pattern.
const MIN_PATTERN_GUESSES_LOG10 = 20;

const L33T: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's' };

let words: Set<string> | undefined;
let zxcvbn: ZxcvbnFactory | undefined;

function dictionaryWords(): Set<string> {
  if (!words) {
    const d = { ...en.dictionary, ...common.dictionary } as Record<string, string[]>;
    const candidates = [
      ...d['commonWords-en'].slice(0, 20000),
      ...d['wikipedia-en'].slice(0, 10000),
      ...d['firstnames-en'],
      ...d['diceware-common'],
    ];
    // Three-letter tokens are frequent by chance in random text, so only common words and names count.
    const threeLetter = new Set(
      [...d['commonWords-en'].slice(0, 5000), ...d['firstnames-en']].filter((w) => w.length === 3),
    );
    words = new Set(candidates.filter((w) => /^[a-z]+$/.test(w) && (w.length >= 4 || threeLetter.has(w))));
    for (const w of [...SHORT_WORDS, ...SHORT_WORDS_2, 'jwt', 'key', 'app', 'api', 'dev', 'prod', 'admin', 'chat']) {
      words.add(w);
    }
  }
  return words;
}

function patternGuessesLog10(value: string): number {
  zxcvbn ??= new ZxcvbnFactory({
    graphs: common.adjacencyGraphs,
    dictionary: { ...common.dictionary, ...en.dictionary },
    translations: en.translations,
    l33tMaxSubstitutions: 5,
  });
  return zxcvbn.check(value).guessesLog10;
}

function alphabetSize(value: string): number {
  if (/^[0-9a-fA-F]+$/.test(value)) return 16;
  if (/^[A-Za-z0-9+/]+=*$/.test(value) || /^[A-Za-z0-9_-]+$/.test(value)) return 64;
  let size = 0;
  if (/[a-z]/.test(value)) size += 26;
  if (/[A-Z]/.test(value)) size += 26;
  if (/[0-9]/.test(value)) size += 10;
  if (/[^a-zA-Z0-9]/.test(value)) size += 33;
  return size;
}

export interface SecretEstimate {
  /** Estimated entropy in bits. */
  bits: number;
  /** The entropy of a uniformly random string of the same alphabet and length. */
  maxBits: number;
}

/**
 * Estimates the entropy of a secret as a human would have built it: dictionary words cost a
 * word's worth of bits, separators and digit runs little, everything else its alphabet's worth.
 * Random keys score close to their true entropy; phrases score far below it.
 */
export function estimateSecretBits(value: string): SecretEstimate {
  const charBits = Math.log2(alphabetSize(value));
  const maxBits = value.length * charBits;
  if (patternGuessesLog10(value) < MIN_PATTERN_GUESSES_LOG10) return { bits: 0, maxBits };
  const dict = dictionaryWords();
  const normalized = [...value.toLowerCase()].map((c) => L33T[c] ?? c).join('');
  let bits = 0;
  let afterWord = false;
  let i = 0;
  while (i < normalized.length) {
    let match = 0;
    for (let end = Math.min(normalized.length, i + 20); end > i; end--) {
      if (dict.has(normalized.slice(i, end))) {
        match = end - i;
        break;
      }
    }
    const c = value[i];
    if (match > 0 && WORD_BITS < match * charBits) {
      bits += WORD_BITS;
      afterWord = true;
      i += match;
    } else {
      const digitRun = /[0-9]/.test(c) && (/[0-9]/.test(value[i - 1] ?? '') || /[0-9]/.test(value[i + 1] ?? ''));
      const separator = afterWord && !/[A-Za-z0-9]/.test(c);
      bits += digitRun ? DIGIT_RUN_BITS : separator ? SEPARATOR_BITS : charBits;
      afterWord = false;
      i += 1;
    }
  }
  return { bits, maxBits };
}

/** Checks a secret a production deployment relies on; `keyBytes` is the key material it yields. */
export function checkSecretStrength(value: string | undefined, keyBytes?: number): SecretProblem | undefined {
  if (value === undefined || value.trim() === '') return { kind: 'missing' };
  const upper = value.toUpperCase();
  const marker = PLACEHOLDER_MARKERS.find((m) => upper.includes(m));
  if (marker) return { kind: 'placeholder', marker };
  const bytes = keyBytes ?? Buffer.byteLength(value, 'utf8');
  if (bytes < MIN_SECRET_BYTES) return { kind: 'too_short', bytes };
  if (WEAK_SECRETS.has(value.toLowerCase())) return { kind: 'weak_list' };
  const { bits, maxBits } = estimateSecretBits(value);
  if (bits < MIN_SECRET_BITS || bits < MIN_RANDOMNESS * maxBits) {
    return { kind: 'low_entropy', bits: Math.round(bits), maxBits: Math.round(maxBits) };
  }
  return undefined;
}

export function describeSecretProblem(name: string, problem: SecretProblem): string {
  const hint = 'generate one with `openssl rand -base64 32`';
  switch (problem.kind) {
    case 'missing':
      return `${name} is required in production (${hint})`;
    case 'too_short':
      return `${name} has ${problem.bytes} bytes of key material; at least ${MIN_SECRET_BYTES} are required (${hint})`;
    case 'placeholder':
      return `${name} contains the placeholder marker "${problem.marker}"; set a real secret (${hint})`;
    case 'weak_list':
      return `${name} is a publicly known weak secret (${hint})`;
    case 'low_entropy':
      return (
        `${name} looks human-chosen: about ${problem.bits} bits of estimated entropy, where a random key ` +
        `of its length has ${problem.maxBits}; at least ${MIN_SECRET_BITS} bits and ${MIN_RANDOMNESS * 100}% ` +
        `of that are required (${hint})`
      );
  }
}
