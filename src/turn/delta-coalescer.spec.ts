import { DeltaCoalescer } from './delta-coalescer';

describe(DeltaCoalescer.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('emits at most one frame per interval, carrying every delta in order', () => {
    const frames: [number, string][] = [];
    const sut = new DeltaCoalescer(25, (index, text) => frames.push([index, text]));
    for (const piece of ['He', 'll', 'o', ' ', 'wor']) sut.push(piece);
    expect(frames).toEqual([]);
    jest.advanceTimersByTime(25);
    sut.push('ld');
    jest.advanceTimersByTime(24);
    expect(frames).toEqual([[0, 'Hello wor']]);
    jest.advanceTimersByTime(1);
    expect(frames).toEqual([
      [0, 'Hello wor'],
      [1, 'ld'],
    ]);
  });

  it('flushes what is pending at once, and emits nothing when nothing is pending', () => {
    const frames: string[] = [];
    const sut = new DeltaCoalescer(1000, (_index, text) => frames.push(text));
    sut.flush();
    sut.push('tail');
    sut.flush();
    jest.advanceTimersByTime(1000);
    expect(frames).toEqual(['tail']);
  });
});
