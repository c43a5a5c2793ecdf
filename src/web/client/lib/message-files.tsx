import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { Translate } from '../../i18n/catalogue';
import { formatSize } from './attachments';
import type { FileAccess } from './files';
import type { FileRef } from './protocol';

/** How the pages fetch message files; without it (a page with no token) files show as names only. */
export const FilesContext = createContext<FileAccess | null>(null);

/** A file's blob: URL, fetched once the element is near the screen (or at once with `eager`). */
function useFileUrl<E extends HTMLElement>(file: FileRef, eager = false) {
  const access = useContext(FilesContext);
  const ref = useRef<E>(null);
  const [url, setUrl] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  const [wanted, setWanted] = useState(eager);
  useEffect(() => {
    const element = ref.current;
    if (wanted || !element) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) setWanted(true);
      },
      { rootMargin: '200px' },
    );
    observer.observe(element);
    return () => observer.disconnect();
  }, [wanted]);
  useEffect(() => {
    if (!wanted || !access) return;
    let live = true;
    const held = access.url(file.id);
    held.url.then(
      (u) => live && setUrl(u),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
      held.release();
    };
  }, [wanted, access, file.id]);
  return { ref, url, failed, available: access !== null };
}

/** The files a message carries: images inline, voice notes as a player with their transcript, others to download. */
export function MessageFiles({ t, lang, files }: { t: Translate; lang: string; files: readonly FileRef[] }) {
  return (
    <ul class="msg-files">
      {files.map((file) => (
        <li key={file.id} data-testid="message-file" data-type={file.type}>
          {file.type.startsWith('image/') ? (
            <FileImage t={t} lang={lang} file={file} />
          ) : file.type.startsWith('audio/') ? (
            <FileAudio t={t} lang={lang} file={file} />
          ) : (
            <FileChip t={t} lang={lang} file={file} />
          )}
        </li>
      ))}
    </ul>
  );
}

function FileImage({ t, lang, file }: { t: Translate; lang: string; file: FileRef }) {
  const { ref, url, failed } = useFileUrl<HTMLSpanElement>(file);
  if (failed) return <FileChip t={t} lang={lang} file={file} />;
  return (
    <span class="file-image" ref={ref}>
      {url ? (
        <img src={url} alt={file.name} loading="lazy" decoding="async" />
      ) : (
        <span class="file-wait">{file.name}</span>
      )}
    </span>
  );
}

function FileAudio({ t, lang, file }: { t: Translate; lang: string; file: FileRef }) {
  const { ref, url, failed } = useFileUrl<HTMLDivElement>(file);
  const transcript = file.transcript;
  return (
    <div class="file-audio" ref={ref}>
      {url && !failed ? (
        <audio controls preload="metadata" src={url} aria-label={t('files.voiceNote', { name: file.name })} />
      ) : (
        <FileChip t={t} lang={lang} file={file} />
      )}
      {transcript &&
        (transcript.status === 'done' ? (
          <p class="file-transcript" data-testid="transcript">
            <span class="visually-hidden">{t('files.transcript')} </span>
            {transcript.text}
          </p>
        ) : (
          <p class="msg-note" data-testid="transcript">
            {t('files.notTranscribed')}
          </p>
        ))}
    </div>
  );
}

/** How long a downloaded file's blob: URL is kept after the download was started. */
const DOWNLOAD_HOLD_MS = 40_000;

/** A file to download: its name and size; the bytes are fetched with the token when it is pressed. */
function FileChip({ t, lang, file }: { t: Translate; lang: string; file: FileRef }) {
  const access = useContext(FilesContext);
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(false);
  const download = async () => {
    if (!access) return;
    setBusy(true);
    const held = access.url(file.id);
    try {
      const link = document.createElement('a');
      link.href = await held.url;
      link.download = file.name;
      link.click();
      setFailed(false);
    } catch {
      setFailed(true);
    } finally {
      setBusy(false);
      // Held while the browser starts reading it for the download (FileSaver.js waits 40 s too).
      setTimeout(() => held.release(), DOWNLOAD_HOLD_MS);
    }
  };
  return (
    <button
      type="button"
      class="file-chip"
      data-testid="file-chip"
      disabled={!access || busy}
      aria-label={t('files.download', { name: file.name, size: formatSize(file.size, lang) })}
      onClick={() => void download()}
    >
      <span class="chip-name">{file.name}</span> <span class="chip-size">{formatSize(file.size, lang)}</span>
      {failed && <span class="chip-error"> {t('files.loadFailed')}</span>}
    </button>
  );
}
