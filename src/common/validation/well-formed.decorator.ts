import { buildMessage, ValidateBy, ValidationOptions } from 'class-validator';

// In Unicode mode a surrogate pair is one code point, so only a lone surrogate is in category Cs.
const LONE_SURROGATE = /\p{Cs}/u;

/** Well-formed UTF-16: no lone surrogate, which storing as UTF-8 would silently turn into U+FFFD. */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** A string of well-formed UTF-16 (see isWellFormedText). */
export const IsWellFormed = (options?: ValidationOptions): PropertyDecorator =>
  ValidateBy(
    {
      name: 'isWellFormed',
      validator: {
        validate: (value) => typeof value === 'string' && isWellFormedText(value),
        defaultMessage: buildMessage(
          (each) => `${each}$property must be well-formed Unicode text (no lone surrogates)`,
          options,
        ),
      },
    },
    options,
  );
