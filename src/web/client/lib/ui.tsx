import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { MessageKey, Translate } from '../../i18n/catalogue';
import { RequestError } from './connection';
import type { ConnectionState } from './connection';
import { renderMarkdown } from './markdown';
import { settle, throttle } from './pace';
import type { ProtocolError } from './protocol';

/** A protocol error as a sentence for people; a code the page does not know reads as a generic failure. */
export function errorText(t: Translate, error: ProtocolError): string {
  const key = `error.${error.code}` as MessageKey;
  return t(key) === key ? t('error.unknown') : t(key);
}

export function asProtocolError(error: unknown): ProtocolError {
  if (error instanceof RequestError) return error.error;
  return { code: 'unknown', message: error instanceof Error ? error.message : String(error), recoverable: true };
}

export const clock = (iso: string, lang: string) =>
  new Date(iso).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' });

export const dateTime = (iso: string, lang: string) =>
  new Date(iso).toLocaleString(lang, { dateStyle: 'medium', timeStyle: 'short' });

/**
 * Markdown rendered by renderMarkdown: raw HTML escaped, DOMPurify keeping only formatting and safe links (a
 * model's only to allowed hosts).
 */
export function Markdown({ text, fromModel }: { text: string; fromModel: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    if (ref.current) ref.current.innerHTML = renderMarkdown(text, { fromModel });
  }, [text, fromModel]);
  return <div class="md" ref={ref} />;
}

/** How often a streaming reply's markdown is rendered again: every delta would cost the whole text each time. */
const STREAM_RENDER_MS = 100;
/** How long a connection state must hold before it is announced: a quick flap is not worth a screen reader's word. */
const ANNOUNCE_CONNECTION_MS = 2000;

/** A reply still streaming: its markdown rendered at most every STREAM_RENDER_MS, the newest text last. */
export function StreamingMarkdown({ text }: { text: string }) {
  const [shown, setShown] = useState(text);
  const paced = useMemo(() => throttle(setShown, STREAM_RENDER_MS), []);
  useEffect(() => paced.push(text), [paced, text]);
  useEffect(() => () => paced.cancel(), [paced]);
  return <Markdown text={shown} fromModel />;
}

/**
 * The connection state as a status pill, and for screen readers a live region that speaks a state only once
 * it has held for ANNOUNCE_CONNECTION_MS.
 */
export function ConnectionStatus({ t, state }: { t: Translate; state: ConnectionState }) {
  const [announced, setAnnounced] = useState<ConnectionState | null>(null);
  const paced = useMemo(() => settle(setAnnounced, ANNOUNCE_CONNECTION_MS), []);
  useEffect(() => paced.push(state), [paced, state]);
  useEffect(() => () => paced.cancel(), [paced]);
  return (
    <>
      <span class={`conn conn-${state}`} aria-hidden="true">
        {t(`conn.${state}` as MessageKey)}
      </span>
      <span class="visually-hidden" role="status" data-testid="connection-announced">
        {announced && t(`conn.${announced}` as MessageKey)}
      </span>
    </>
  );
}

export function ErrorBanner({ t, error, onDismiss }: { t: Translate; error: ProtocolError; onDismiss: () => void }) {
  return (
    <p class="banner banner-error" role="alert" data-testid="error" data-code={error.code}>
      {errorText(t, error)}{' '}
      <button type="button" aria-label={t('common.dismiss')} onClick={onDismiss}>
        ×
      </button>
    </p>
  );
}

/** A controller's state, re-rendering its component on every change. */
export function useStore<S>(store: { current: S; subscribe(listener: (state: S) => void): () => void }): S {
  const [state, setState] = useState(store.current);
  useEffect(() => store.subscribe(setState), [store]);
  return state;
}
