import { useEffect, useRef, useState } from 'preact/hooks';
import type { Translate } from '../../i18n/catalogue';
import {
  Attachment,
  AttachmentAction,
  attachments,
  formatDuration,
  formatSize,
  MAX_ATTACHMENTS,
  percent,
} from './attachments';
import { ABORTED, FileAccess, Upload } from './files';
import type { ProtocolError } from './protocol';
import { useRecorder } from './recorder';
import { asProtocolError } from './ui';

export const TOO_MANY_FILES: ProtocolError = {
  code: 'too_many_files',
  message: `At most ${MAX_ATTACHMENTS} files per message`,
  recoverable: false,
};

/**
 * The composer's attachments: each file uploads as soon as it is picked (with progress, cancellable);
 * `take` hands the uploaded ones to a message, `restore` gives them back when it could not be sent.
 */
export function useAttachments(files: FileAccess, onError: (error: ProtocolError) => void) {
  const [list, setList] = useState<readonly Attachment[]>([]);
  const current = useRef(list);
  const uploads = useRef(new Map<string, Upload>());
  const report = useRef(onError);
  report.current = onError;
  const dispatch = (action: AttachmentAction) => {
    current.current = attachments(current.current, action);
    setList(current.current);
  };
  useEffect(
    () => () => {
      for (const upload of uploads.current.values()) upload.abort();
    },
    [],
  );

  function add(file: Blob, name: string): void {
    if (current.current.length >= MAX_ATTACHMENTS) return report.current(TOO_MANY_FILES);
    const key = crypto.randomUUID();
    dispatch({ kind: 'add', key, name, size: file.size });
    const upload = files.upload(file, name, (loaded) => dispatch({ kind: 'progress', key, loaded }));
    uploads.current.set(key, upload);
    upload.done
      .then(
        (uploaded) => dispatch({ kind: 'done', key, uploaded }),
        (error: unknown) => {
          const failure = asProtocolError(error);
          if (failure.code === ABORTED) return;
          dispatch({ kind: 'failed', key, error: failure });
          report.current(failure);
        },
      )
      .finally(() => uploads.current.delete(key));
  }

  function remove(key: string): void {
    uploads.current.get(key)?.abort();
    dispatch({ kind: 'remove', key });
  }

  /** The uploaded attachments, off the composer. */
  function take(): Attachment[] {
    const ready = current.current.filter((a) => a.status === 'done');
    for (const a of ready) dispatch({ kind: 'remove', key: a.key });
    return ready;
  }

  /** Every attachment off the composer, uploads under way stopped. */
  function clear(): void {
    for (const a of current.current) remove(a.key);
  }

  return {
    list,
    add,
    remove,
    take,
    clear,
    restore: (items: readonly Attachment[]) => dispatch({ kind: 'restore', items }),
  };
}

/** The Attach, Photo and Record buttons of a composer. */
export function AttachControls({
  t,
  onFile,
  onError,
  disabled,
}: {
  t: Translate;
  onFile: (file: Blob, name: string) => void;
  onError: (error: ProtocolError) => void;
  disabled?: boolean;
}) {
  const picker = useRef<HTMLInputElement>(null);
  const camera = useRef<HTMLInputElement>(null);
  const recorder = useRecorder(onFile, onError);
  const picked = (event: Event) => {
    const input = event.target as HTMLInputElement;
    for (const file of Array.from(input.files ?? [])) onFile(file, file.name);
    // The same file may be picked again after it was removed.
    input.value = '';
  };
  if (recorder.recording) {
    return (
      <div class="attach-controls recording" role="group" aria-label={t('files.recordingGroup')}>
        <span class="rec-time" role="timer" data-testid="recording-time">
          <span class="rec-dot" aria-hidden="true" />
          {t('files.recording', { time: formatDuration(recorder.elapsedMs) })}
        </span>
        <button type="button" class="secondary" onClick={() => recorder.stop()}>
          {t('files.stopRecording')}
        </button>
        <button type="button" class="secondary" onClick={() => recorder.discard()}>
          {t('files.discardRecording')}
        </button>
      </div>
    );
  }
  return (
    <div class="attach-controls">
      <input ref={picker} type="file" multiple hidden data-testid="attach-input" onChange={picked} />
      <input
        ref={camera}
        type="file"
        accept="image/*"
        capture="environment"
        hidden
        data-testid="camera-input"
        onChange={picked}
      />
      <button type="button" class="secondary" disabled={disabled} onClick={() => picker.current?.click()}>
        {t('files.attach')}
      </button>
      <button type="button" class="secondary" disabled={disabled} onClick={() => camera.current?.click()}>
        {t('files.photo')}
      </button>
      <button type="button" class="secondary" disabled={disabled} onClick={() => void recorder.start()}>
        {t('files.record')}
      </button>
    </div>
  );
}

/** The files waiting to go with the next message: name, size, upload progress, cancel or remove. */
export function AttachmentChips({
  t,
  lang,
  items,
  onRemove,
}: {
  t: Translate;
  lang: string;
  items: readonly Attachment[];
  onRemove: (key: string) => void;
}) {
  if (items.length === 0) return null;
  return (
    <ul class="chips" aria-label={t('files.attached')}>
      {items.map((a) => (
        <li key={a.key} class={`chip chip-${a.status}`} data-testid="attachment" data-status={a.status}>
          <span class="chip-name">{a.name}</span> <span class="chip-size">{formatSize(a.size, lang)}</span>
          {a.status === 'uploading' && (
            <progress max={100} value={percent(a)} aria-label={t('files.uploading', { name: a.name })} />
          )}
          {a.status === 'failed' && <span class="chip-error">{t('files.failed')}</span>}
          <button
            type="button"
            class="chip-remove"
            aria-label={t(a.status === 'uploading' ? 'files.cancel' : 'files.remove', { name: a.name })}
            onClick={() => onRemove(a.key)}
          >
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}
