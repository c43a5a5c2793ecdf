import { sseData } from './sse';

/** A body delivering these byte chunks, one read each. */
function body(...chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
      controller.close();
    },
  });
}

async function batches(stream: ReadableStream<Uint8Array>): Promise<string[][]> {
  const all: string[][] = [];
  for await (const batch of sseData(stream)) all.push(batch);
  return all;
}

describe(sseData.name, () => {
  it('gives the events a read completed as one batch, in order', async () => {
    expect(await batches(body('data: a\n\ndata: b\n\nda', 'ta: c\n\n'))).toEqual([['a', 'b'], ['c']]);
  });

  it('decodes a character whose bytes are split across reads', async () => {
    const bytes = new TextEncoder().encode('data: héllo 🙂\n\n');
    const cut = bytes.indexOf(0xf0) + 2;
    expect(await batches(body(bytes.slice(0, cut), bytes.slice(cut)))).toEqual([['héllo 🙂']]);
  });

  it('takes CRLF line ends, also when a CR and its LF arrive in different reads', async () => {
    expect(await batches(body('data: one\r', '\n\r\ndata: two\r\n\r\n'))).toEqual([['one', 'two']]);
  });

  it('joins the data lines of one event and ignores comments and other fields', async () => {
    expect(await batches(body(': keep-alive\n\nevent: x\nid: 1\ndata: a\ndata: b\n\n'))).toEqual([['a\nb']]);
  });

  it('gives nothing for an event the body never finished', async () => {
    expect(await batches(body('data: whole\n\ndata: cut sho'))).toEqual([['whole']]);
  });
});
