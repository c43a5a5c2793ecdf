import { useEffect, useRef, useState } from 'preact/hooks';
import { recordingName, recordingType } from './attachments';
import type { ProtocolError } from './protocol';

interface Recording {
  recorder: MediaRecorder;
  stream: MediaStream;
  chunks: Blob[];
  startedAt: number;
  /** False once discarded: stopping then attaches nothing. */
  keep: boolean;
}

export const MICROPHONE_UNAVAILABLE: ProtocolError = {
  code: 'microphone_unavailable',
  message: 'No microphone, or it was refused',
  recoverable: false,
};

/**
 * A voice note through getUserMedia and MediaRecorder: `start`, then `stop` hands the recording to
 * `onRecorded` as a file, or `discard` drops it. The microphone is released as soon as recording ends, and
 * when the component goes away.
 */
export function useRecorder(onRecorded: (file: Blob, name: string) => void, onError: (error: ProtocolError) => void) {
  const [startedAt, setStartedAt] = useState<number | null>(null);
  const [now, setNow] = useState(0);
  const current = useRef<Recording | null>(null);
  const callbacks = useRef({ onRecorded, onError });
  callbacks.current = { onRecorded, onError };

  useEffect(() => {
    if (startedAt === null) return;
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [startedAt]);
  useEffect(() => () => discard(), []);

  async function start(): Promise<void> {
    if (current.current) return;
    const type =
      typeof MediaRecorder === 'undefined' ? undefined : recordingType((t) => MediaRecorder.isTypeSupported(t));
    if (!type || !navigator.mediaDevices?.getUserMedia) return callbacks.current.onError(MICROPHONE_UNAVAILABLE);
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      return callbacks.current.onError(MICROPHONE_UNAVAILABLE);
    }
    const recording: Recording = {
      recorder: new MediaRecorder(stream, { mimeType: type }),
      stream,
      chunks: [],
      startedAt: Date.now(),
      keep: true,
    };
    recording.recorder.ondataavailable = (event) => {
      if (event.data.size > 0) recording.chunks.push(event.data);
    };
    recording.recorder.onstop = () => {
      for (const track of stream.getTracks()) track.stop();
      current.current = null;
      setStartedAt(null);
      if (!recording.keep || recording.chunks.length === 0) return;
      const file = new Blob(recording.chunks, { type: recording.recorder.mimeType || type });
      callbacks.current.onRecorded(file, recordingName(new Date(recording.startedAt), type));
    };
    recording.recorder.start();
    current.current = recording;
    setNow(recording.startedAt);
    setStartedAt(recording.startedAt);
  }

  function stop(): void {
    if (current.current?.recorder.state === 'recording') current.current.recorder.stop();
  }

  function discard(): void {
    const recording = current.current;
    if (!recording) return;
    recording.keep = false;
    if (recording.recorder.state === 'recording') recording.recorder.stop();
    else for (const track of recording.stream.getTracks()) track.stop();
  }

  return { recording: startedAt !== null, elapsedMs: startedAt === null ? 0 : now - startedAt, start, stop, discard };
}
