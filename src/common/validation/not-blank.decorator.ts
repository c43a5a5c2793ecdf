import { buildMessage, ValidateBy, ValidationOptions } from 'class-validator';

// Whitespace, control and format characters (Cf: zero-width space and joiners, bidi marks, the BOM)
// and the rest of Unicode's default-ignorables (Hangul fillers, variation selectors): none shows.
const INVISIBLE_ONLY = /^[\p{White_Space}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]*$/u;

/** True when nothing of the text would show: it is empty once invisible characters are removed. */
export function isBlankText(text: string): boolean {
  return INVISIBLE_ONLY.test(text);
}

/** A message payload that names files (`fileIds`), whose words may then be ''. */
export const carriesFiles = (payload: { fileIds?: unknown }) =>
  Array.isArray(payload.fileIds) && payload.fileIds.length > 0;

/** A message with nothing to store: blank words, unless they are exactly '' beside files. */
export const isEmptyMessage = (content: string, fileIds?: readonly unknown[]) =>
  isBlankText(content) && !(content === '' && carriesFiles({ fileIds }));

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

/** Like IsNotBlank, but exactly '' also passes when `emptyAllowed` holds for the object (a message with files). */
export const IsNotBlankOrEmptyIf = (emptyAllowed: (object: object) => boolean, options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isNotBlank',
      validator: {
        validate: (value, args) =>
          typeof value === 'string' &&
          (!isBlankText(value) || (value === '' && args !== undefined && emptyAllowed(args.object))),
        defaultMessage: buildMessage(
          (each) => `${each}$property must contain visible text, or be empty with files`,
          options,
        ),
      },
    },
    options,
  );
