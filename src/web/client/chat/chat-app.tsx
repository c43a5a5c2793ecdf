import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Translate } from '../../i18n/catalogue';
import { AttachControls, AttachmentChips, useAttachments } from '../lib/attachments-ui';
import { uploading } from '../lib/attachments';
import type { FileAccess } from '../lib/files';
import { FilesContext } from '../lib/message-files';
import { clock, ConnectionStatus, ErrorBanner, useStore } from '../lib/ui';
import { Message, Streaming } from './message-list';
import { ChatController } from './chat-controller';
import { isGenerating } from './transcript';

export function ChatApp({
  controller,
  t,
  lang,
  sessionsHref,
  files,
}: {
  controller: ChatController;
  t: Translate;
  lang: string;
  sessionsHref: string;
  files: FileAccess;
}) {
  const state = useStore(controller);
  const { session, transcript, models } = state;
  const [draft, setDraft] = useState('');
  const scroller = useRef<HTMLElement>(null);
  const top = useRef<HTMLDivElement>(null);
  const ended = session?.status === 'ended';
  const generating = isGenerating(transcript);
  const holderName = session?.holder ? (session.holder.name ?? t('chat.anAdmin')) : null;

  // New messages and streamed text keep the newest in view while the reader is at the bottom; one who has
  // scrolled up to read is left where they are.
  const newest = transcript.messages[transcript.messages.length - 1]?.id;
  const following = useRef(true);
  useLayoutEffect(() => {
    const log = scroller.current;
    if (log && following.current) log.scrollTop = log.scrollHeight;
  }, [newest, transcript.streaming, transcript.pending.length]);
  const onScroll = () => {
    const log = scroller.current;
    if (log) following.current = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  };
  // Older pages load while the top of the log is in view: each page re-arms the observer, so a tall screen
  // keeps loading until it is filled or nothing older is left.
  const oldest = transcript.messages[0]?.id;
  useEffect(() => {
    const sentinel = top.current;
    if (!sentinel) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) void controller.loadOlder();
    });
    observer.observe(sentinel);
    return () => observer.disconnect();
  }, [controller, transcript.hasOlder, oldest]);
  // A page of older messages keeps what the reader was looking at in place.
  const height = useRef(0);
  useLayoutEffect(() => {
    const log = scroller.current;
    if (log && height.current > 0) log.scrollTop += log.scrollHeight - height.current;
  }, [oldest]);
  useLayoutEffect(() => {
    height.current = scroller.current?.scrollHeight ?? 0;
  });

  const input = useRef<HTMLTextAreaElement>(null);
  const attached = useAttachments(files, (error) => controller.showError(error));
  const busyUploading = uploading(attached.list);
  const hasFiles = attached.list.some((a) => a.status === 'done');
  const submit = (event: Event) => {
    event.preventDefault();
    // The field itself, not the state: a key pressed before the next render must not see an older draft.
    const text = input.current?.value ?? draft;
    // A message waits for its files: one sent mid-upload would go without them.
    if ((!text.trim() && !hasFiles) || busyUploading) return;
    const sending = attached.take();
    if (input.current) input.current.value = '';
    setDraft('');
    following.current = true;
    void controller
      .send(
        text,
        sending.flatMap((a) => (a.file ? [a.file] : [])),
      )
      .catch(() => false)
      .then((sent) => {
        if (sent) return;
        // Not sent: the words go back into the field, ahead of anything typed since, so nothing is lost;
        // so do the files.
        attached.restore(sending);
        const typed = input.current?.value ?? '';
        const restored = typed.trim() ? `${text}\n${typed}` : text;
        if (input.current) input.current.value = restored;
        setDraft(restored);
      });
  };

  return (
    <FilesContext.Provider value={files}>
      <div class="chat">
        <header class="bar">
          <h1 class="title">{session?.name ?? t('app.title')}</h1>
          <ConnectionStatus t={t} state={state.connection} />
          {holderName ? (
            <span class="with-admin" data-testid="with-admin">
              {t('chat.withAdmin', { name: holderName })}
            </span>
          ) : (
            models.length > 1 && (
              <label class="model">
                <span class="visually-hidden">{t('chat.model')}</span>
                <select
                  value={session?.modelId ?? state.modelId ?? ''}
                  disabled={ended}
                  onChange={(e) => void controller.selectModel((e.target as HTMLSelectElement).value)}
                >
                  {models.map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.name}
                    </option>
                  ))}
                </select>
              </label>
            )
          )}
          <nav class="actions">
            <a class="button" href={sessionsHref}>
              {t('chat.sessions')}
            </a>
            <button type="button" onClick={() => void controller.newChat()}>
              {t('chat.newChat')}
            </button>
            {session && !ended && (
              <button type="button" onClick={() => void controller.endChat()}>
                {t('chat.endChat')}
              </button>
            )}
          </nav>
        </header>

        {state.banner && (
          <p class={`banner banner-${state.banner.kind}`} role="status" data-testid="admin-banner">
            {t(state.banner.kind === 'joined' ? 'chat.adminJoined' : 'chat.adminLeft', {
              name: state.banner.name ?? t('chat.anAdmin'),
            })}
          </p>
        )}
        {session?.help && !ended && (
          <p class="banner banner-help" role="status" data-testid="help-state">
            {t('chat.helpWaiting', { time: clock(session.help.requestedAt, lang) })}{' '}
            <button type="button" onClick={() => void controller.cancelHelp()}>
              {t('chat.helpCancel')}
            </button>
          </p>
        )}
        {state.error && <ErrorBanner t={t} error={state.error} onDismiss={() => controller.dismissError()} />}

        <main class="log-wrap" ref={scroller} onScroll={onScroll}>
          {transcript.hasOlder && (
            <div ref={top} class="older">
              <button type="button" onClick={() => void controller.loadOlder()} disabled={state.loadingOlder}>
                {state.loadingOlder ? t('chat.loadingOlder') : t('chat.older')}
              </button>
            </div>
          )}
          {state.ready &&
            transcript.messages.length === 0 &&
            transcript.pending.length === 0 &&
            transcript.streaming.length === 0 && <p class="empty">{t('chat.empty')}</p>}
          <div role="log" aria-live="polite" aria-label={t('chat.log')}>
            <ol class="log">
              {transcript.messages.map((m) => (
                <Message key={m.id} t={t} m={m} lang={lang} />
              ))}
              {transcript.streaming.map((reply) => (
                <Streaming key={reply.messageId} t={t} reply={reply} />
              ))}
              {transcript.pending.map((p) => (
                <li key={p.clientMessageId} class="msg msg-user msg-pending">
                  <div class="msg-meta">
                    <span class="msg-sender">{t('msg.you')}</span> <span>{t('msg.sending')}</span>
                  </div>
                  {p.content && <p class="msg-text">{p.content}</p>}
                  {p.files && p.files.length > 0 && <p class="msg-note">{p.files.map((f) => f.name).join(', ')}</p>}
                </li>
              ))}
            </ol>
          </div>
          {state.typing && (
            <p class="typing" role="status">
              {t('chat.typing', { name: state.typing.name ?? t('chat.someone') })}
            </p>
          )}
        </main>

        {ended ? (
          <p class="ended">{t('chat.ended')}</p>
        ) : (
          <form class="composer" onSubmit={submit}>
            <label class="visually-hidden" for="composer-input">
              {t('chat.inputLabel')}
            </label>
            <textarea
              ref={input}
              id="composer-input"
              rows={2}
              value={draft}
              placeholder={t('chat.placeholder')}
              onInput={(e) => {
                setDraft((e.target as HTMLTextAreaElement).value);
                controller.setTyping(true);
              }}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) submit(e);
              }}
            />
            <AttachmentChips t={t} lang={lang} items={attached.list} onRemove={attached.remove} />
            <div class="composer-actions">
              <AttachControls t={t} onFile={attached.add} onError={(error) => controller.showError(error)} />
              {!session?.help && !holderName && (
                <button type="button" class="secondary" onClick={() => void controller.requestHelp()}>
                  {t('chat.help')}
                </button>
              )}
              {generating ? (
                <button type="button" class="stop" onClick={() => void controller.stop()}>
                  {t('chat.stop')}
                </button>
              ) : (
                <button type="submit" disabled={(!draft.trim() && !hasFiles) || busyUploading}>
                  {t('chat.send')}
                </button>
              )}
            </div>
          </form>
        )}
      </div>
    </FilesContext.Provider>
  );
}
