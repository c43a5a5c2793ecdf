import { useEffect, useState } from 'preact/hooks';
import type { Translate } from '../../i18n/catalogue';
import { api } from '../lib/api';
import type { ProtocolError } from '../lib/protocol';
import { asProtocolError, clock, dateTime, ErrorBanner, Markdown } from '../lib/ui';

interface SharedMessage {
  seq: number;
  sender: 'user' | 'ai' | 'admin' | 'system';
  senderName?: string;
  content: string;
  createdAt: string;
}

interface SharedSession {
  session: { name: string | null; status: string; startedAt: string; endedAt: string | null };
  messages: SharedMessage[];
  hasMore: boolean;
}

/** A shared conversation, read-only and public: the token is the link's last segment. */
export function SharedApp({ prefix, token, t, lang }: { prefix: string; token: string; t: Translate; lang: string }) {
  const [data, setData] = useState<SharedSession | null>(null);
  const [gone, setGone] = useState(false);
  const [error, setError] = useState<ProtocolError | null>(null);
  const path = `/shared/${encodeURIComponent(token)}`;

  const load = async (beforeSeq?: number) => {
    try {
      const page = await api<SharedSession>(prefix, undefined, beforeSeq ? `${path}?beforeSeq=${beforeSeq}` : path);
      setData((current) =>
        current && beforeSeq ? { ...page, messages: [...page.messages, ...current.messages] } : page,
      );
    } catch (e) {
      const failure = asProtocolError(e);
      if (failure.code === 'not_found') setGone(true);
      else setError(failure);
    }
  };
  useEffect(() => void load(), []);

  const label = (m: SharedMessage) =>
    m.sender === 'user'
      ? t('shared.user')
      : m.sender === 'ai'
        ? t('msg.assistant')
        : m.sender === 'admin'
          ? (m.senderName ?? t('msg.admin'))
          : t('msg.system');

  return (
    <div class="page">
      <header class="bar">
        <h1 class="title">{data?.session.name ?? t('shared.title')}</h1>
      </header>
      {error && <ErrorBanner t={t} error={error} onDismiss={() => setError(null)} />}
      <main class="page-body">
        {gone && (
          <p class="empty" role="status">
            {t('shared.gone')}
          </p>
        )}
        {data && (
          <>
            <p class="card-meta">
              {t('shared.readOnly')} {dateTime(data.session.startedAt, lang)}
            </p>
            {data.hasMore && (
              <button type="button" class="secondary" onClick={() => void load(data.messages[0]?.seq)}>
                {t('chat.older')}
              </button>
            )}
            <ol class="log">
              {data.messages.map((m) => (
                <li key={m.seq} class={`msg msg-${m.sender}`}>
                  <div class="msg-meta">
                    <span class="msg-sender">{label(m)}</span>{' '}
                    <time dateTime={m.createdAt}>{clock(m.createdAt, lang)}</time>
                  </div>
                  {m.sender === 'user' || m.sender === 'system' ? (
                    <p class="msg-text">{m.content}</p>
                  ) : (
                    <Markdown text={m.content} fromModel={m.sender !== 'admin'} />
                  )}
                </li>
              ))}
            </ol>
          </>
        )}
      </main>
    </div>
  );
}
