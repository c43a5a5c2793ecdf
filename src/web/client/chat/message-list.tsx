import type { Translate } from '../../i18n/catalogue';
import type { MessageView } from '../lib/protocol';
import { MessageFiles } from '../lib/message-files';
import { clock, Markdown, StreamingMarkdown } from '../lib/ui';
import type { StreamingReply } from './transcript';

/** Who wrote a message: the user as `userLabel` ("You" on the chat page, their name in the admin console). */
function senderLabel(t: Translate, m: MessageView, userLabel: string): string {
  if (m.sender === 'user') return userLabel;
  if (m.sender === 'ai') return t('msg.assistant');
  if (m.sender === 'admin') return m.senderName ?? t('msg.admin');
  return t('msg.system');
}

export function Message({ t, m, lang, userLabel }: { t: Translate; m: MessageView; lang: string; userLabel?: string }) {
  const note =
    m.status === 'stopped'
      ? t('msg.stopped')
      : m.status === 'interrupted'
        ? t('msg.interrupted')
        : m.status === 'failed'
          ? t('msg.failed')
          : null;
  return (
    <li class={`msg msg-${m.sender}`} data-id={m.id} data-seq={m.seq}>
      <div class="msg-meta">
        <span class="msg-sender">{senderLabel(t, m, userLabel ?? t('msg.you'))}</span>{' '}
        <time dateTime={m.createdAt}>{clock(m.createdAt, lang)}</time>
      </div>
      {m.status === 'unreadable' ? (
        <p class="msg-note">{t('msg.unreadable')}</p>
      ) : m.sender === 'user' || m.sender === 'system' ? (
        <p class="msg-text">{m.content}</p>
      ) : (
        <Markdown text={m.content} fromModel={m.sender !== 'admin'} />
      )}
      {m.files && m.files.length > 0 && <MessageFiles t={t} lang={lang} files={m.files} />}
      {note && <p class="msg-note">{note}</p>}
    </li>
  );
}

export function Streaming({ t, reply }: { t: Translate; reply: StreamingReply }) {
  return (
    <li class="msg msg-ai msg-streaming" data-id={reply.messageId} aria-busy="true">
      <div class="msg-meta">
        <span class="msg-sender">{t('msg.assistant')}</span>
      </div>
      {reply.text ? <StreamingMarkdown text={reply.text} /> : <span class="dots" aria-hidden="true" />}
    </li>
  );
}
