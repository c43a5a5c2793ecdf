/**
 * The handler types ('soun', 'vide', …) of the tracks an MP4's `moov` box declares; undefined when the box
 * is not well-formed. Safari records voice as audio-only MP4, which magic bytes alone cannot tell from a video.
 */
export function mp4TrackHandlers(moov: Uint8Array): string[] | undefined {
  const traks = boxes(moov, 0, moov.length);
  if (!traks) return undefined;
  const handlers: string[] = [];
  for (const trak of traks.filter((b) => b.type === 'trak')) {
    const mdia = boxes(moov, trak.start, trak.end)?.find((b) => b.type === 'mdia');
    const hdlr = mdia && boxes(moov, mdia.start, mdia.end)?.find((b) => b.type === 'hdlr');
    // A full box: version and flags (4 bytes), pre_defined (4), then the handler type.
    if (!hdlr || hdlr.end - hdlr.start < 12) return undefined;
    handlers.push(ascii(moov, hdlr.start + 8));
  }
  return handlers;
}

/** A top-level box found in a file: its type, and where its payload lies. */
export interface Mp4Box {
  type: string;
  start: number;
  end: number;
}

/** The header of the box at `at` of a file of `size` bytes, from its first 16 bytes; undefined when malformed. */
export function boxAt(header: Uint8Array, at: number, size: number): Mp4Box | undefined {
  if (header.length < 8) return undefined;
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const declared = view.getUint32(0);
  const type = ascii(header, 4);
  if (declared === 1) {
    if (header.length < 16) return undefined;
    const large = Number(view.getBigUint64(8));
    return large >= 16 && at + large <= size ? { type, start: at + 16, end: at + large } : undefined;
  }
  // 0: the box runs to the end of the file.
  const end = declared === 0 ? size : at + declared;
  return declared === 0 || (declared >= 8 && end <= size) ? { type, start: at + 8, end } : undefined;
}

/** The boxes filling `[from, to)`, or undefined when they do not fill it exactly. */
function boxes(data: Uint8Array, from: number, to: number): Mp4Box[] | undefined {
  const found: Mp4Box[] = [];
  for (let at = from; at < to;) {
    const box = boxAt(data.subarray(at, Math.min(at + 16, to)), at, to);
    if (!box) return undefined;
    found.push(box);
    at = box.end;
  }
  return found;
}

const ascii = (data: Uint8Array, at: number) => String.fromCharCode(...data.subarray(at, at + 4));
