import { useEffect, useState } from 'preact/hooks';
import type { Translate } from '../../i18n/catalogue';
import { api } from '../lib/api';
import type { TokenSource } from '../lib/connection';
import type { ProtocolError, SessionView } from '../lib/protocol';
import { asProtocolError, dateTime, ErrorBanner } from '../lib/ui';

interface Share {
  id: string;
  createdAt: string;
  expiresAt: string | null;
  revoked: boolean;
}

interface Props {
  prefix: string;
  tokens: TokenSource;
  t: Translate;
  lang: string;
}

/** The user's conversations, newest activity first: open, end, share (create, copy, revoke), new chat. */
export function SessionsApp({ prefix, tokens, t, lang }: Props) {
  const [sessions, setSessions] = useState<SessionView[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<ProtocolError | null>(null);
  const [sharing, setSharing] = useState<string | null>(null);

  const load = async (after: string | null) => {
    try {
      const page = await api<{ sessions: SessionView[]; nextCursor: string | null }>(
        prefix,
        tokens,
        `/sessions?limit=20${after ? `&cursor=${encodeURIComponent(after)}` : ''}`,
      );
      setSessions((current) => {
        const known = new Set(current.map((s) => s.id));
        return [...current, ...page.sessions.filter((s) => !known.has(s.id))];
      });
      setCursor(page.nextCursor);
    } catch (e) {
      setError(asProtocolError(e));
    } finally {
      setLoaded(true);
    }
  };
  useEffect(() => void load(null), []);

  const end = async (id: string) => {
    try {
      const view = await api<SessionView>(prefix, tokens, `/sessions/${id}/end`, { method: 'POST' });
      setSessions((current) => current.map((s) => (s.id === id ? view : s)));
    } catch (e) {
      setError(asProtocolError(e));
    }
  };

  return (
    <div class="page">
      <header class="bar">
        <h1 class="title">{t('sessions.title')}</h1>
        <nav class="actions">
          <a class="button" href={`${prefix}/`}>
            {t('sessions.backToChat')}
          </a>
          <a class="button" href={`${prefix}/?new=1`}>
            {t('chat.newChat')}
          </a>
        </nav>
      </header>
      {error && <ErrorBanner t={t} error={error} onDismiss={() => setError(null)} />}
      <main class="page-body">
        {loaded && sessions.length === 0 && <p class="empty">{t('sessions.empty')}</p>}
        <ul class="cards">
          {sessions.map((s) => (
            <li key={s.id} class="card" data-testid="session" data-id={s.id}>
              <div class="card-head">
                <a class="card-title" href={`${prefix}/?session=${s.id}`}>
                  {s.name ?? t('sessions.untitled')}
                </a>
                <span class={`badge badge-${s.status}`}>
                  {t(s.status === 'active' ? 'sessions.active' : 'sessions.ended')}
                </span>
                {s.assisted && <span class="badge badge-assisted">{t('sessions.assisted')}</span>}
              </div>
              <p class="card-meta">
                {t('sessions.lastActivity', { time: dateTime(s.lastActivityAt, lang) })} ·{' '}
                {t('sessions.messages', { count: String(s.messageCount) })}
              </p>
              <div class="card-actions">
                <a class="button" href={`${prefix}/?session=${s.id}`}>
                  {t('sessions.open')}
                </a>
                {s.status === 'active' && (
                  <button type="button" class="secondary" onClick={() => void end(s.id)}>
                    {t('sessions.end')}
                  </button>
                )}
                <button
                  type="button"
                  class="secondary"
                  aria-expanded={sharing === s.id}
                  onClick={() => setSharing(sharing === s.id ? null : s.id)}
                >
                  {t('sessions.share')}
                </button>
              </div>
              {sharing === s.id && (
                <Shares prefix={prefix} tokens={tokens} t={t} lang={lang} sessionId={s.id} onError={setError} />
              )}
            </li>
          ))}
        </ul>
        {cursor && (
          <button type="button" class="secondary" onClick={() => void load(cursor)}>
            {t('sessions.more')}
          </button>
        )}
      </main>
    </div>
  );
}

function Shares({
  prefix,
  tokens,
  t,
  lang,
  sessionId,
  onError,
}: Props & { sessionId: string; onError: (e: ProtocolError) => void }) {
  const [shares, setShares] = useState<Share[]>([]);
  const [link, setLink] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const path = `/sessions/${sessionId}/shares`;
  const refresh = async () => setShares(await api<Share[]>(prefix, tokens, path));
  useEffect(() => void refresh().catch((e: unknown) => onError(asProtocolError(e))), [sessionId]);

  const create = async () => {
    try {
      const share = await api<Share & { token: string }>(prefix, tokens, path, { method: 'POST', body: {} });
      setLink(`${location.origin}${prefix}/shared/${share.token}`);
      setCopied(false);
      await refresh();
    } catch (e) {
      onError(asProtocolError(e));
    }
  };
  const revoke = async (id: string) => {
    try {
      await api(prefix, tokens, `${path}/${id}`, { method: 'DELETE' });
      await refresh();
    } catch (e) {
      onError(asProtocolError(e));
    }
  };
  const copy = async () => {
    if (!link) return;
    await navigator.clipboard.writeText(link);
    setCopied(true);
  };

  return (
    <section class="shares" aria-label={t('share.title')}>
      <button type="button" onClick={() => void create()}>
        {t('share.create')}
      </button>
      {link && (
        <p class="share-link">
          <label>
            {t('share.newLink')}{' '}
            <input
              readOnly
              value={link}
              data-testid="share-link"
              onFocus={(e) => (e.target as HTMLInputElement).select()}
            />
          </label>{' '}
          <button type="button" class="secondary" onClick={() => void copy()}>
            {copied ? t('share.copied') : t('share.copy')}
          </button>
        </p>
      )}
      <ul class="share-list">
        {shares.map((share) => (
          <li key={share.id} data-testid="share">
            {dateTime(share.createdAt, lang)} ·{' '}
            {share.revoked
              ? t('share.revoked')
              : share.expiresAt
                ? t('share.expires', { time: dateTime(share.expiresAt, lang) })
                : t('share.noExpiry')}{' '}
            {!share.revoked && (
              <button type="button" class="secondary" onClick={() => void revoke(share.id)}>
                {t('share.revoke')}
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
