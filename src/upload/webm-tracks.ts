/**
 * The track types (1 video, 2 audio, …) a WebM file declares in its Tracks element, read from the start of
 * the file; undefined when the sample holds no complete Tracks element or is not well-formed EBML. Browsers
 * record voice as audio-only WebM, which magic bytes alone cannot tell from a video.
 */
export function webmTrackTypes(sample: Uint8Array): number[] | undefined {
  const segment = children(sample, 0, sample.length).find((e) => e.id === SEGMENT);
  if (!segment) return undefined;
  // Tracks come before the first Cluster; a recording's Segment may have an unknown size (it is live).
  for (const element of children(sample, segment.start, segment.end)) {
    if (element.id === CLUSTER) return undefined;
    if (element.id !== TRACKS) continue;
    if (element.truncated) return undefined;
    return children(sample, element.start, element.end)
      .filter((entry) => entry.id === TRACK_ENTRY)
      .map((entry) => {
        const type = children(sample, entry.start, entry.end).find((e) => e.id === TRACK_TYPE);
        return type && type.end - type.start === 1 ? sample[type.start] : 0;
      });
  }
  return undefined;
}

const SEGMENT = 0x18538067;
const TRACKS = 0x1654ae6b;
const TRACK_ENTRY = 0xae;
const TRACK_TYPE = 0x83;
const CLUSTER = 0x1f43b675;

interface Element {
  id: number;
  start: number;
  end: number;
  /** Its size runs past the sample (or is unknown): `end` is the sample's end. */
  truncated: boolean;
}

/** The elements in `[from, to)`, until one cannot be read. */
function children(data: Uint8Array, from: number, to: number): Element[] {
  const found: Element[] = [];
  let at = from;
  while (at < to) {
    const id = vint(data, at, 4, true);
    if (!id) break;
    const size = vint(data, at + id.length, 8, false);
    if (!size) break;
    const start = at + id.length + size.length;
    const end = size.unknown ? to : start + size.value;
    found.push({ id: id.value, start, end: Math.min(end, to), truncated: size.unknown || end > to });
    if (size.unknown) break;
    at = end;
  }
  return found;
}

/** An EBML variable-length integer: an element id keeps its length marker, a size drops it. */
function vint(data: Uint8Array, at: number, maxLength: number, keepMarker: boolean) {
  const first = data[at];
  if (first === undefined || first === 0) return undefined;
  const length = Math.clz32(first) - 23;
  if (length > maxLength || at + length > data.length) return undefined;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i += 1) {
    value = value * 256 + data[at + i];
    allOnes &&= data[at + i] === 0xff;
  }
  return { value, length, unknown: !keepMarker && allOnes };
}
