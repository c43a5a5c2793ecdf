import { DeltaCoalescer } from './delta-coalescer';

describe(DeltaCoalescer.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('sends the first delta at once, then at most one frame per interval, carrying every delta in order', () => {
    const frames: [number, string][] = [];
    const sut = new DeltaCoalescer(25, (index, text) => frames.push([index, text]));
    for (const piece of ['He', 'll', 'o', ' ', 'wor']) sut.push(piece);
    expect(frames).toEqual([[0, 'He']]);
    jest.advanceTimersByTime(25);
    expect(frames).toEqual([
      [0, 'He'],
      [1, 'llo wor'],
    ]);
    sut.push('ld');
    jest.advanceTimersByTime(24);
    expect(frames).toHaveLength(2);
    jest.advanceTimersByTime(1);
    expect(frames.at(-1)).toEqual([2, 'ld']);
  });

  it('sends a delta at once again after a quiet interval', () => {
    const frames: string[] = [];
    const sut = new DeltaCoalescer(25, (_index, text) => frames.push(text));
    sut.push('a');
    jest.advanceTimersByTime(25);
    jest.advanceTimersByTime(25);
    sut.push('b');
    expect(frames).toEqual(['a', 'b']);
  });

  it('finishes with what is pending at once, and emits nothing when nothing is pending', () => {
    const frames: string[] = [];
    const sut = new DeltaCoalescer(1000, (_index, text) => frames.push(text));
    sut.finish();
    sut.push('first');
    sut.push('tail');
    sut.finish();
    jest.advanceTimersByTime(1000);
    expect(frames).toEqual(['first', 'tail']);
  });
});
