import { webmTrackTypes } from './webm-tracks';

/** An EBML element: its id bytes, an 8-byte size (or the unknown size), its content. */
const el = (id: number[], content: Buffer | Buffer[], unknownSize = false) => {
  const body = Buffer.concat([content].flat());
  const size = Buffer.alloc(8);
  if (unknownSize) size.fill(0xff, 1);
  else size.writeBigUInt64BE(BigInt(body.length));
  size[0] = 0x01;
  return Buffer.concat([Buffer.from(id), size, body]);
};
const header = el([0x1a, 0x45, 0xdf, 0xa3], el([0x42, 0x82], Buffer.from('webm')));
const track = (type: number) => el([0xae], [el([0xd7], Buffer.from([1])), el([0x83], Buffer.from([type]))]);
const tracks = (...types: number[]) => el([0x16, 0x54, 0xae, 0x6b], types.map(track));
const info = el([0x15, 0x49, 0xa9, 0x66], el([0x4d, 0x80], Buffer.from('test')));
const cluster = el([0x1f, 0x43, 0xb6, 0x75], Buffer.alloc(32));
const segment = (parts: Buffer[], unknownSize = false) => el([0x18, 0x53, 0x80, 0x67], parts, unknownSize);

describe(webmTrackTypes.name, () => {
  it('reads the track types of a recording, also with a Segment of unknown size', () => {
    expect(webmTrackTypes(Buffer.concat([header, segment([info, tracks(2), cluster])]))).toEqual([2]);
    expect(webmTrackTypes(Buffer.concat([header, segment([info, tracks(2), cluster], true)]))).toEqual([2]);
    expect(webmTrackTypes(Buffer.concat([header, segment([tracks(1, 2), cluster])]))).toEqual([1, 2]);
  });

  it('gives up when the tracks are not in the sample or the data is not EBML', () => {
    const whole = Buffer.concat([header, segment([info, tracks(2)])]);
    expect(webmTrackTypes(whole.subarray(0, whole.length - 3))).toBeUndefined();
    expect(webmTrackTypes(Buffer.concat([header, segment([info, cluster, tracks(2)])]))).toBeUndefined();
    expect(webmTrackTypes(Buffer.concat([header, segment([info])]))).toBeUndefined();
    expect(webmTrackTypes(Buffer.alloc(64))).toBeUndefined();
    expect(webmTrackTypes(Buffer.from('not ebml at all'))).toBeUndefined();
  });
});
