import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { detectFileType, isPlainText, TEXT_SAMPLE_BYTES } from './file-type';

describe(detectFileType.name, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'file-type-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const detect = (bytes: Buffer) => {
    const file = path.join(dir, String(Math.random()));
    writeFileSync(file, bytes);
    return detectFileType(file, bytes.length);
  };

  it('reads the type from the magic bytes', async () => {
    expect(await detect(Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj\n'))).toEqual({
      type: 'application/pdf',
      ext: 'pdf',
      kind: 'pdf',
    });
    const wav = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WAVEfmt '), Buffer.alloc(64)]);
    expect(await detect(wav)).toMatchObject({ type: 'audio/wav', kind: 'audio' });
  });

  it('takes a WebM with only audio tracks (a browser voice recording) as audio/webm, and no other WebM', async () => {
    const el = (id: number[], ...content: Buffer[]) => {
      const body = Buffer.concat(content);
      return Buffer.concat([Buffer.from(id), Buffer.from([0x80 | body.length]), body]);
    };
    const webm = (...trackTypes: number[]) =>
      Buffer.concat([
        el([0x1a, 0x45, 0xdf, 0xa3], el([0x42, 0x82], Buffer.from('webm'))),
        el(
          [0x18, 0x53, 0x80, 0x67],
          el([0x16, 0x54, 0xae, 0x6b], ...trackTypes.map((type) => el([0xae], el([0x83], Buffer.from([type]))))),
        ),
      ]);
    expect(await detect(webm(2))).toEqual({ type: 'audio/webm', ext: 'webm', kind: 'audio' });
    expect(await detect(webm(1, 2))).toBeUndefined();
    expect(await detect(webm(1))).toBeUndefined();
  });

  it('takes an MP4 with only sound tracks (Safari voice recording) as audio/mp4, wherever its moov is, and no other MP4', async () => {
    const box = (type: string, ...content: Buffer[]) => {
      const body = Buffer.concat(content);
      const header = Buffer.alloc(8);
      header.writeUInt32BE(8 + body.length);
      header.write(type, 4, 'latin1');
      return Buffer.concat([header, body]);
    };
    const trak = (handler: string) =>
      box('trak', box('mdia', box('hdlr', Buffer.alloc(8), Buffer.from(handler, 'latin1'), Buffer.alloc(12))));
    const ftyp = box('ftyp', Buffer.from('iso5\0\0\0\0iso5mp41', 'latin1'));
    const mdat = box('mdat', Buffer.alloc(64, 1));
    const mp4 = (moovFirst: boolean, ...handlers: string[]) => {
      const moov = box('moov', box('mvhd', Buffer.alloc(100)), ...handlers.map(trak));
      return Buffer.concat(moovFirst ? [ftyp, moov, mdat] : [ftyp, mdat, moov]);
    };
    expect(await detect(mp4(true, 'soun'))).toEqual({ type: 'audio/mp4', ext: 'm4a', kind: 'audio' });
    expect(await detect(mp4(false, 'soun'))).toEqual({ type: 'audio/mp4', ext: 'm4a', kind: 'audio' });
    expect(await detect(mp4(true, 'vide', 'soun'))).toBeUndefined();
    expect(await detect(mp4(false, 'vide'))).toBeUndefined();
    // A box whose size runs past the file: not read as anything.
    const cut = mp4(true, 'soun');
    cut.writeUInt32BE(cut.length * 2, ftyp.length);
    expect(await detect(cut)).toBeUndefined();
  });

  it('refuses types off the allow-list: archives and executables', async () => {
    expect(await detect(Buffer.from('PK\x05\x06' + '\0'.repeat(18), 'binary'))).toBeUndefined();
    expect(await detect(Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200)]))).toBeUndefined();
  });

  it('takes UTF-8 text without magic bytes as text/plain, but not empty files, binary data or markup', async () => {
    expect(await detect(Buffer.from('Grüße, 你好\r\n\tline two\n'))).toMatchObject({
      type: 'text/plain',
      kind: 'text',
    });
    expect(await detect(Buffer.alloc(0))).toBeUndefined();
    expect(await detect(Buffer.from([0xc3, 0x28, 0x41]))).toBeUndefined();
    expect(await detect(Buffer.from('text\0with a NUL'))).toBeUndefined();
    expect(await detect(Buffer.from('notes\n\n<IFRAME src="https://example.test">'))).toBeUndefined();
  });

  it('judges a long text by its first 64 KiB, allowing a character cut at the sample end', async () => {
    const long = Buffer.from('a'.repeat(TEXT_SAMPLE_BYTES - 1) + 'é' + 'b'.repeat(10));
    expect(await detect(long)).toMatchObject({ kind: 'text' });
    expect(isPlainText(long.subarray(0, TEXT_SAMPLE_BYTES), false)).toBe(true);
    expect(isPlainText(long.subarray(0, TEXT_SAMPLE_BYTES), true)).toBe(false);
  });
});
