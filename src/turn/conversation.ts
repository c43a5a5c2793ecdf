import { Attachment } from '../llm/llm-provider';
import { isViewable } from '../llm/model-messages';
import { HistoryMessage } from '../llm/prompt-builder';
import { FileRef, isVoiceNote, MessageView } from '../session/session-views';

/**
 * The largest image a model is shown: Anthropic takes 5 MB per image as base64, which is 3.75 MiB of bytes
 * (OpenAI takes 20 MB). A larger one is only noted, as is a type the vendors do not view (HEIC, AVIF…).
 */
export const MAX_VIEWED_IMAGE_BYTES = 3.75 * 1024 * 1024;

/**
 * A message's files as the prompt takes them: images (their bytes loaded later, if shown: only those a
 * model can view carry their file id), voice notes (their transcripts, the user's words) and other files.
 */
export function attachmentsOf(files: readonly FileRef[] = []): Attachment[] {
  return files.map((file): Attachment => {
    if (file.type.startsWith('image/')) {
      const viewable = isViewable(file.type) && file.size <= MAX_VIEWED_IMAGE_BYTES;
      return { kind: 'image', name: file.name, mimeType: file.type, ...(viewable && { fileId: file.id }) };
    }
    if (isVoiceNote(file)) {
      return {
        kind: 'voice',
        name: file.name,
        mimeType: file.type,
        ...(file.transcript && { transcript: file.transcript }),
      };
    }
    return { kind: 'file', name: file.name, mimeType: file.type, size: file.size };
  });
}

/**
 * The conversation a user message continues, in conversation order: each earlier user message followed
 * by its reply, administrators' messages where they were said, and nothing said after it. Replies are
 * stored when they end, so seq order alone would put a queued message before the reply to the one
 * ahead of it; each reply's `replyTo` puts it back in place. Of several replies to one message (one
 * cut by a crash, then the answer), the latest is kept. Unreadable, empty and system messages are left out.
 */
export function conversationBefore(messages: MessageView[], current: { id: string; seq: number }): HistoryMessage[] {
  const usable = messages.filter(
    (m) =>
      m.id !== current.id &&
      m.sender !== 'system' &&
      m.status !== 'unreadable' &&
      (m.content !== '' || (m.files?.length ?? 0) > 0),
  );
  const earlierUsers = new Set(usable.filter((m) => m.sender === 'user' && m.seq < current.seq).map((m) => m.id));
  const latestReply = new Map<string, MessageView>();
  const said: { key: [number, number]; message: MessageView }[] = [];
  for (const m of usable) {
    if (m.sender === 'ai' && m.replyTo !== undefined) {
      if (!earlierUsers.has(m.replyTo)) continue;
      const kept = latestReply.get(m.replyTo);
      if (!kept || kept.seq < m.seq) latestReply.set(m.replyTo, m);
    } else if (m.seq < current.seq) {
      said.push({ key: [m.seq, 0], message: m });
    }
  }
  for (const reply of latestReply.values())
    said.push({ key: [reply.replyToSeq ?? reply.seq, reply.seq], message: reply });
  said.sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1]);
  return said.map(({ message }) => ({
    sender: message.sender,
    content: message.content,
    senderName: message.senderName,
    ...((message.files?.length ?? 0) > 0 && { attachments: attachmentsOf(message.files) }),
  }));
}
