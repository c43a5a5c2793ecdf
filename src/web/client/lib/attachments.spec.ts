import {
  Attachment,
  attachments,
  worthSending,
  formatDuration,
  formatSize,
  percent,
  readyFiles,
  recordingName,
  recordingType,
  uploading,
} from './attachments';

const uploaded = (key: string) => ({ fileId: `id-${key}`, name: `${key}.png`, type: 'image/png', size: 100 });

describe(attachments.name, () => {
  it('follows an upload from pick to done, with progress capped at its size', () => {
    let list: readonly Attachment[] = [];
    list = attachments(list, { kind: 'add', key: 'a', name: 'photo.jpeg', size: 200 });
    expect(list).toEqual([{ key: 'a', name: 'photo.jpeg', size: 200, loaded: 0, status: 'uploading' }]);
    expect(uploading(list)).toBe(true);
    list = attachments(list, { kind: 'progress', key: 'a', loaded: 150 });
    expect(percent(list[0])).toBe(75);
    // Multipart framing makes the bytes sent exceed the file's own.
    list = attachments(list, { kind: 'progress', key: 'a', loaded: 260 });
    expect(percent(list[0])).toBe(100);
    // The server's name and size win: the name is sanitised, with the extension of the type read.
    list = attachments(list, { kind: 'done', key: 'a', uploaded: uploaded('a') });
    expect(list[0]).toMatchObject({ status: 'done', name: 'a.png', size: 100, loaded: 100 });
    expect(uploading(list)).toBe(false);
    expect(readyFiles(list)).toEqual([{ id: 'id-a', name: 'a.png', type: 'image/png', size: 100 }]);
  });

  it('keeps a refused upload with its error, out of the files to send', () => {
    let list = attachments([], { kind: 'add', key: 'a', name: 'tool.exe', size: 10 });
    const error = { code: 'unsupported_file_type', message: 'no', recoverable: false };
    list = attachments(list, { kind: 'failed', key: 'a', error });
    expect(list[0]).toMatchObject({ status: 'failed', error });
    expect(readyFiles(list)).toEqual([]);
    expect(uploading(list)).toBe(false);
  });

  it('ignores news of an upload that was removed (cancelled) meanwhile', () => {
    let list = attachments([], { kind: 'add', key: 'a', name: 'a', size: 10 });
    list = attachments(list, { kind: 'remove', key: 'a' });
    expect(attachments(list, { kind: 'progress', key: 'a', loaded: 5 })).toBe(list);
    expect(attachments(list, { kind: 'done', key: 'a', uploaded: uploaded('a') })).toBe(list);
    expect(list).toEqual([]);
  });

  it('gives files back ahead of those picked since, without doubling any', () => {
    let list = attachments([], { kind: 'add', key: 'a', name: 'a', size: 1 });
    list = attachments(list, { kind: 'done', key: 'a', uploaded: uploaded('a') });
    const taken = list;
    list = attachments(list, { kind: 'remove', key: 'a' });
    list = attachments(list, { kind: 'add', key: 'b', name: 'b', size: 1 });
    list = attachments(list, { kind: 'restore', items: taken });
    expect(list.map((a) => a.key)).toEqual(['a', 'b']);
    expect(attachments(list, { kind: 'restore', items: taken }).map((a) => a.key)).toEqual(['a', 'b']);
  });
});

describe(worthSending.name, () => {
  it('sends words, or files alone, never nothing', () => {
    const files = readyFiles(
      attachments(attachments([], { kind: 'add', key: 'a', name: 'a', size: 1 }), {
        kind: 'done',
        key: 'a',
        uploaded: uploaded('a'),
      }),
    );
    expect(worthSending('  look at this ', [])).toBe(true);
    expect(worthSending(' \n', files)).toBe(true);
    expect(worthSending(' \n', [])).toBe(false);
  });
});

describe(formatSize.name, () => {
  it('writes bytes, KB and MB for people, in their language', () => {
    expect(formatSize(0, 'en')).toBe('0 B');
    expect(formatSize(1023, 'en')).toBe('1,023 B');
    expect(formatSize(1536, 'en')).toBe('1.5 KB');
    expect(formatSize(10 * 1024 * 1024, 'en')).toBe('10 MB');
    expect(formatSize(150 * 1024, 'en')).toBe('150 KB');
    expect(formatSize(1536, 'fr')).toBe('1,5 KB');
  });
});

describe(formatDuration.name, () => {
  it('writes a recording time as m:ss', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(9999)).toBe('0:09');
    expect(formatDuration(61000)).toBe('1:01');
    expect(formatDuration(-5)).toBe('0:00');
  });
});

describe(recordingType.name, () => {
  it('picks WebM/Opus (Chromium, Firefox), else Ogg, else MP4 (Safari), else none', () => {
    expect(recordingType(() => true)).toBe('audio/webm;codecs=opus');
    expect(recordingType((type) => type.startsWith('audio/ogg'))).toBe('audio/ogg;codecs=opus');
    expect(recordingType((type) => type === 'audio/mp4')).toBe('audio/mp4');
    expect(recordingType(() => false)).toBeUndefined();
  });

  it('names a voice note by when it was recorded, with the extension of its type', () => {
    const at = new Date('2026-03-04T05:06:07.890Z');
    expect(recordingName(at, 'audio/webm;codecs=opus')).toBe('voice-note-20260304-050607.webm');
    expect(recordingName(at, 'audio/ogg;codecs=opus')).toBe('voice-note-20260304-050607.ogg');
    expect(recordingName(at, 'audio/mp4')).toBe('voice-note-20260304-050607.m4a');
  });
});
