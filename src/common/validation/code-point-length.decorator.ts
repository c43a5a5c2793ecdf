import { ValidateBy, ValidationOptions } from 'class-validator';

/** The length of a text in code points: an emoji or another astral character is one, not two UTF-16 units. */
export function codePointLength(text: string): number {
  return Array.from(text).length;
}

/** A string of `min` to `max` code points (JSON Schema's `minLength`/`maxLength` count them alike). */
export const CodePointLength = (min: number, max: number, options?: ValidationOptions): PropertyDecorator =>
  ValidateBy(
    {
      name: 'codePointLength',
      constraints: [min, max],
      validator: {
        validate: (value) => {
          if (typeof value !== 'string') return false;
          const length = codePointLength(value);
          return length >= min && length <= max;
        },
        defaultMessage: (args) =>
          typeof args?.value === 'string' && codePointLength(args.value) < min
            ? `${args.property} must be at least ${min} characters`
            : `${args?.property} must be at most ${max} characters`,
      },
    },
    options,
  );
