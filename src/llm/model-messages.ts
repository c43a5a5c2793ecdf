import { Attachment, ModelMessage, PromptMessage } from './llm-provider';

// Names and types come from users: one line, bounded, no brackets, so a note cannot close itself and pose as
// an instruction.
const clean = (text: string, max: number) =>
  text
    .replace(/[\p{Cc}\p{Zl}\p{Zp}\s[\]]+/gu, ' ')
    .trim()
    .slice(0, max);

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** What a model that does not view an attachment reads in its place: never a URL, never the bytes. */
export function attachmentNote(attachment: Attachment): string {
  const name = clean(attachment.name, 120) || 'unnamed';
  const type = clean(attachment.mimeType, 100) || 'unknown type';
  return attachment.kind === 'image'
    ? `[Attached image: ${name} (${type}), not shown to this model]`
    : `[Attached file: ${name} (${type}, ${formatSize(attachment.size)})]`;
}

/** The text with a note for each attachment after it, one a line. */
export const withNotes = (content: string, attachments: Attachment[] = []) =>
  [content, ...attachments.map(attachmentNote)].filter((part) => part !== '').join('\n');

/** The prompt as one model takes it. */
export function toModelMessages(messages: PromptMessage[]): ModelMessage[] {
  return messages.map(({ role, content, attachments }) => ({ role, content: withNotes(content, attachments) }));
}
