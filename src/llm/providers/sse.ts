import { createParser } from 'eventsource-parser';

/**
 * The data of each server-sent event in a response body, a batch per chunk read: the events that chunk
 * completed, in order. A batch per read, not an iteration per event, since a token is an event.
 */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string[]> {
  let batch: string[] = [];
  const parser = createParser({ onEvent: ({ data }) => batch.push(data) });
  const decoder = new TextDecoder();
  for await (const bytes of body) {
    parser.feed(decoder.decode(bytes, { stream: true }));
    if (batch.length === 0) continue;
    const ready = batch;
    batch = [];
    yield ready;
  }
}
