import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Translate } from '../../i18n/catalogue';
import { Message, Streaming } from '../chat/message-list';
import type { TokenSource } from '../lib/connection';
import type { ProtocolError } from '../lib/protocol';
import { uploading } from '../lib/attachments';
import { AttachControls, AttachmentChips, useAttachments } from '../lib/attachments-ui';
import { FileAccess } from '../lib/files';
import { FilesContext } from '../lib/message-files';
import { ConnectionStatus, ErrorBanner, useStore } from '../lib/ui';
import { AdminAudit } from './admin-audit';
import { AdminController } from './admin-controller';
import type { AdminSessionView } from './admin-queue';
import { AdminMetrics } from './admin-metrics';
import { AdminSessions } from './admin-sessions';

type Tab = 'live' | 'all' | 'metrics' | 'audit';
const TABS: [Tab, 'admin.tabLive' | 'admin.tabAll' | 'admin.tabMetrics' | 'admin.tabAudit'][] = [
  ['live', 'admin.tabLive'],
  ['all', 'admin.tabAll'],
  ['metrics', 'admin.tabMetrics'],
  ['audit', 'admin.tabAudit'],
];

/** A clock for the waiting times: re-renders its user every second. */
function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

const waited = (from: string, now: number) => {
  const seconds = Math.max(0, Math.floor((now - Date.parse(from)) / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
};

function QueueItem({
  t,
  view,
  now,
  active,
  onSelect,
}: {
  t: Translate;
  view: AdminSessionView;
  now: number;
  active: boolean;
  onSelect: () => void;
}) {
  return (
    <li>
      <button
        type="button"
        class={`queue-item${active ? ' queue-item-active' : ''}`}
        aria-current={active}
        data-testid="queue-item"
        data-id={view.id}
        onClick={onSelect}
      >
        <span class="queue-user">{view.userName ?? view.userId}</span>
        <span class="queue-name">{view.name ?? '—'}</span>
        {view.help && (
          <span class="badge badge-help" data-testid="help-badge">
            {t('admin.help')} ·{' '}
            <span data-testid="waiting">{t('admin.waiting', { time: waited(view.help.requestedAt, now) })}</span>
          </span>
        )}
        <span class="badge">
          {view.holder ? t('admin.heldBy', { name: view.holder.name ?? view.holder.id }) : t('admin.withAi')}
        </span>
      </button>
    </li>
  );
}

export function AdminApp({
  controller,
  t,
  lang,
  prefix,
  tokens,
}: {
  controller: AdminController;
  t: Translate;
  lang: string;
  prefix: string;
  tokens: TokenSource;
}) {
  const state = useStore(controller);
  const [tab, setTab] = useState<Tab>('live');
  const [pageError, setPageError] = useState<ProtocolError | null>(null);
  const now = useNow();
  const input = useRef<HTMLTextAreaElement>(null);
  const scroller = useRef<HTMLElement>(null);
  const { selected, transcript } = state;
  const holding = controller.holdsSelected();
  const newest = transcript.messages[transcript.messages.length - 1]?.id;
  useLayoutEffect(() => {
    const log = scroller.current;
    if (log) log.scrollTop = log.scrollHeight;
  }, [newest, transcript.streaming]);

  const files = useMemo(() => new FileAccess(prefix, tokens), [prefix, tokens]);
  const attached = useAttachments(files, (error) => controller.showError(error));
  const busyUploading = uploading(attached.list);
  // Files picked for one conversation are never sent in another.
  const selectedId = selected?.id;
  useEffect(() => attached.clear(), [selectedId]);
  const submit = (event: Event) => {
    event.preventDefault();
    const text = input.current?.value ?? '';
    if ((!text.trim() && !attached.list.some((a) => a.status === 'done')) || busyUploading) return;
    const sending = attached.take();
    if (input.current) input.current.value = '';
    void controller
      .send(
        text,
        sending.flatMap((a) => (a.file ? [a.file] : [])),
      )
      .then((sent) => {
        if (sent) return;
        attached.restore(sending);
        if (input.current && !input.current.value.trim()) input.current.value = text;
      });
  };

  return (
    <FilesContext.Provider value={files}>
      <div class="admin">
        <header class="bar">
          <h1 class="title">{t('admin.title')}</h1>
          <ConnectionStatus t={t} state={state.connection} />
        </header>
        <nav class="tabs" role="tablist" aria-label={t('admin.tabs')}>
          {TABS.map(([id, label]) => (
            <button
              key={id}
              type="button"
              role="tab"
              aria-selected={tab === id}
              class={tab === id ? 'tab tab-active' : 'tab'}
              onClick={() => setTab(id)}
            >
              {t(label)}
            </button>
          ))}
        </nav>
        {state.error && <ErrorBanner t={t} error={state.error} onDismiss={() => controller.dismissError()} />}
        {pageError && <ErrorBanner t={t} error={pageError} onDismiss={() => setPageError(null)} />}
        {tab === 'all' && (
          <AdminSessions
            prefix={prefix}
            tokens={tokens}
            t={t}
            lang={lang}
            onError={setPageError}
            onWatch={(id) => {
              setTab('live');
              void controller.select(id);
            }}
          />
        )}
        {tab === 'metrics' && <AdminMetrics prefix={prefix} tokens={tokens} t={t} onError={setPageError} />}
        {tab === 'audit' && <AdminAudit prefix={prefix} tokens={tokens} t={t} lang={lang} onError={setPageError} />}
        <div class="admin-panes" hidden={tab !== 'live'}>
          <nav class="queue" aria-label={t('admin.queue')}>
            <h2>{t('admin.queue')}</h2>
            {state.queue.size === 0 && <p class="empty">{t('admin.emptyQueue')}</p>}
            <ul aria-live="polite">
              {controller.queue().map((view) => (
                <QueueItem
                  key={view.id}
                  t={t}
                  view={view}
                  now={now}
                  active={view.id === selected?.id}
                  onSelect={() => void controller.select(view.id)}
                />
              ))}
            </ul>
          </nav>
          <section class="watch" aria-label={selected?.name ?? t('admin.select')}>
            {!selected ? (
              <p class="empty">{t('admin.select')}</p>
            ) : (
              <>
                <div class="watch-head">
                  <h2 class="title">{selected.name ?? selected.userName ?? selected.userId}</h2>
                  <span class="badge" data-testid="owner">
                    {selected.status === 'ended'
                      ? t('sessions.ended')
                      : selected.holder
                        ? t('admin.heldBy', { name: selected.holder.name ?? selected.holder.id })
                        : t('admin.withAi')}
                  </span>
                  {selected.status === 'active' && (
                    <div class="actions">
                      {holding ? (
                        <button type="button" onClick={() => void controller.release()}>
                          {t('admin.release')}
                        </button>
                      ) : (
                        <button type="button" onClick={() => void controller.takeOver()}>
                          {t('admin.takeOver')}
                        </button>
                      )}
                      <button type="button" class="secondary" onClick={() => void controller.end()}>
                        {t('admin.end')}
                      </button>
                    </div>
                  )}
                </div>
                <main class="log-wrap" ref={scroller}>
                  <div role="log" aria-live="polite" aria-label={t('chat.log')}>
                    <ol class="log">
                      {transcript.messages.map((m) => (
                        <Message key={m.id} t={t} m={m} lang={lang} userLabel={selected.userName ?? t('admin.user')} />
                      ))}
                      {transcript.streaming.map((reply) => (
                        <Streaming key={reply.messageId} t={t} reply={reply} />
                      ))}
                    </ol>
                  </div>
                  {state.typing && (
                    <p class="typing" role="status">
                      {t('admin.userTyping')}
                    </p>
                  )}
                </main>
                {selected.status === 'active' &&
                  (holding ? (
                    <form class="composer" onSubmit={submit}>
                      <label class="visually-hidden" for="admin-input">
                        {t('admin.inputLabel')}
                      </label>
                      <textarea
                        ref={input}
                        id="admin-input"
                        rows={2}
                        onKeyDown={(e) => {
                          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) submit(e);
                        }}
                      />
                      <AttachmentChips t={t} lang={lang} items={attached.list} onRemove={attached.remove} />
                      <div class="composer-actions">
                        <AttachControls t={t} onFile={attached.add} onError={(error) => controller.showError(error)} />
                        <button type="submit" disabled={busyUploading}>
                          {t('chat.send')}
                        </button>
                      </div>
                    </form>
                  ) : (
                    <p class="ended">{t('admin.watchOnly')}</p>
                  ))}
              </>
            )}
          </section>
        </div>
      </div>
    </FilesContext.Provider>
  );
}
