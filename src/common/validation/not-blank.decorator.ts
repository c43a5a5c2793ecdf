import { buildMessage, ValidateBy, ValidationOptions } from 'class-validator';

// Whitespace, control and format characters (Cf: zero-width space and joiners, bidi marks, the BOM)
// and the rest of Unicode's default-ignorables (Hangul fillers, variation selectors): none shows.
const INVISIBLE_ONLY = /^[\p{White_Space}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]*$/u;

/** True when nothing of the text would show: it is empty once invisible characters are removed. */
export function isBlankText(text: string): boolean {
  return INVISIBLE_ONLY.test(text);
}

/** A string with at least one visible character (see isBlankText). */
export const IsNotBlank = (options?: ValidationOptions): PropertyDecorator =>
  ValidateBy(
    {
      name: 'isNotBlank',
      validator: {
        validate: (value) => typeof value === 'string' && !isBlankText(value),
        defaultMessage: buildMessage((each) => `${each}$property must contain visible text`, options),
      },
    },
    options,
  );
