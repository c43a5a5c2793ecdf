import { ModelConfig } from '../config/llm-models';
import {
  Attachment,
  ModelImage,
  ModelMessage,
  PromptMessage,
  ViewableImageType,
  VoiceAttachment,
} from './llm-provider';

/** The image types both OpenAI's and Anthropic's vision models take. */
const VIEWABLE: ReadonlySet<string> = new Set<ViewableImageType>([
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/webp',
]);
export const isViewable = (type: string): type is ViewableImageType => VIEWABLE.has(type);

const NOT_SHOWN = 'not shown to this model';

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

const NOT_TRANSCRIBED = {
  unavailable: 'not transcribed — no transcription model is configured',
  failed: 'not transcribed — the transcription failed',
  absent: 'not transcribed',
};

/** A voice note as the model reads it: its transcript, marked as such, or why there is none. */
function voiceNote(attachment: VoiceAttachment, name: string): string {
  const { transcript } = attachment;
  if (transcript?.status !== 'done')
    return `[Voice note "${name}": ${NOT_TRANSCRIBED[transcript?.status ?? 'absent']}]`;
  const text = transcript.text.trim();
  return text
    ? `[Transcript of the voice note "${name}"] ${text}`
    : `[Voice note "${name}": transcribed, but no words were recognised]`;
}

/** What a model reads in place of an attachment it does not view: never a URL, never the bytes. */
export function attachmentNote(attachment: Attachment, why = NOT_SHOWN): string {
  const name = clean(attachment.name, 120) || 'unnamed';
  if (attachment.kind === 'voice') return voiceNote(attachment, name);
  const type = clean(attachment.mimeType, 100) || 'unknown type';
  return attachment.kind === 'image'
    ? `[Attached image: ${name} (${type}), ${why}]`
    : `[Attached file: ${name} (${type}, ${formatSize(attachment.size)})]`;
}

/** The text with a note for each attachment after it, one a line. */
export const withNotes = (content: string, attachments: Attachment[] = [], why?: (image: Attachment) => string) =>
  [content, ...attachments.map((a) => attachmentNote(a, why?.(a)))].filter((part) => part !== '').join('\n');

/**
 * The prompt as one model takes it. A vision model is shown the images of user messages, newest message
 * first, up to `maxImages` in all (a long conversation's images would otherwise cost more than its words);
 * every other attachment, and every image of a model without vision, is a note in the text.
 */
export function toModelMessages(messages: PromptMessage[], model: ModelConfig, maxImages: number): ModelMessage[] {
  const shown = new Map<Attachment, ModelImage>();
  for (const message of [...messages].reverse()) {
    if (!model.vision || message.role !== 'user') continue;
    for (const attachment of message.attachments ?? []) {
      const mimeType = attachment.mimeType.toLowerCase();
      if (shown.size < maxImages && attachment.kind === 'image' && attachment.data && isViewable(mimeType)) {
        shown.set(attachment, { mimeType, data: attachment.data });
      }
    }
  }
  // Vendors take images in user turns only: a human agent's (the assistant's side) are notes for every model.
  const why = (role: ModelMessage['role']) => (image: Attachment) =>
    !model.vision || role !== 'user'
      ? NOT_SHOWN
      : isViewable(image.mimeType.toLowerCase())
        ? `not shown: only the ${maxImages} newest images are`
        : 'not shown: a type this model does not view';
  return messages.map(({ role, content, attachments = [] }) => {
    const images = attachments.flatMap((a) => shown.get(a) ?? []);
    const notes = attachments.filter((a) => !shown.has(a));
    return { role, content: withNotes(content, notes, why(role)), ...(images.length > 0 && { images }) };
  });
}
