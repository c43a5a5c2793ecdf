import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';

/** What the next request to a vendor endpoint gets. */
export type Scenario =
  /** `lingerMs`: the response stays open that long after the stream's last event. */
  | { kind: 'ok'; text?: string; lingerMs?: number }
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'cut'; afterDeltas: number; text?: string }
  | { kind: 'slow'; firstTokenDelayMs: number; text?: string }
  | { kind: 'error-event'; afterDeltas?: number }
  | { kind: 'endless'; intervalMs: number };

export type Vendor = 'openai' | 'anthropic' | 'dify' | 'transcription';

export interface RecordedRequest {
  vendor: Vendor;
  path: string;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  aborted: boolean;
  /** The response closed, ended or cut. */
  closed: boolean;
}

export const FAKE_TEXT = 'Hello from the fake model, streamed word by word.';
export const FAKE_USAGE = { prompt: 42, completion: 11 };

const words = (text: string) => text.match(/\S+\s*/g) ?? [];
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * One loopback HTTP server speaking OpenAI chat-completions SSE, Anthropic messages SSE and Dify
 * chat-messages SSE (by path suffix, so several base URLs can point at it), scripted per vendor.
 */
export class FakeLlmServer {
  readonly requests: RecordedRequest[] = [];
  private readonly scripts: Record<Vendor, Scenario[]> = { openai: [], anthropic: [], dify: [], transcription: [] };
  private server?: Server;
  private conversations = 0;
  baseUrl = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  script(vendor: Vendor, ...scenarios: Scenario[]): void {
    this.scripts[vendor].push(...scenarios);
  }

  of(vendor: Vendor): RecordedRequest[] {
    return this.requests.filter((r) => r.vendor === vendor);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const path = req.url ?? '';
    const vendor: Vendor | undefined = path.endsWith('/chat/completions')
      ? 'openai'
      : path.endsWith('/messages')
        ? 'anthropic'
        : path.endsWith('/chat-messages')
          ? 'dify'
          : path.endsWith('/audio/transcriptions')
            ? 'transcription'
            : undefined;
    if (!vendor) return void res.writeHead(404).end();
    const isJson = (req.headers['content-type'] ?? '').includes('json');
    const record: RecordedRequest = {
      vendor,
      path,
      body: isJson ? (JSON.parse(raw.toString() || '{}') as Record<string, unknown>) : { bytes: raw.length },
      headers: req.headers,
      aborted: false,
      closed: false,
    };
    this.requests.push(record);
    res.on('close', () => {
      if (!res.writableEnded) record.aborted = true;
      record.closed = true;
    });
    if (vendor === 'transcription') {
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ text: 'transcribed words' }));
    }
    const scenario = this.scripts[vendor].shift() ?? { kind: 'ok' };
    if (scenario.kind === 'status') {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (scenario.retryAfter) headers['retry-after'] = scenario.retryAfter;
      const error = {
        error: { message: `fake ${scenario.status}`, type: 'fake_error' },
        message: `fake ${scenario.status}`,
      };
      return void res.writeHead(scenario.status, headers).end(JSON.stringify(error));
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const write = (data: unknown, event?: string) => {
      if (!res.destroyed)
        res.write(
          `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`,
        );
    };
    const format = FORMATS[vendor];
    const conversationId =
      vendor === 'dify' ? (record.body.conversation_id as string) || `conv-${++this.conversations}` : '';
    const ctx = { model: typeof record.body.model === 'string' ? record.body.model : 'fake', conversationId, write };

    if (scenario.kind === 'slow') await pause(scenario.firstTokenDelayMs);
    if (res.destroyed) return;
    format.start(ctx);
    if (scenario.kind === 'endless') {
      while (!res.destroyed) {
        format.delta(ctx, 'more ');
        await pause(scenario.intervalMs);
      }
      return;
    }
    const pieces = words(('text' in scenario && scenario.text) || FAKE_TEXT);
    const limit =
      scenario.kind === 'cut'
        ? scenario.afterDeltas
        : scenario.kind === 'error-event'
          ? (scenario.afterDeltas ?? 0)
          : pieces.length;
    for (const piece of pieces.slice(0, limit)) {
      if (res.destroyed) return;
      format.delta(ctx, piece);
      await pause(5);
    }
    if (scenario.kind === 'cut') return void res.destroy();
    if (scenario.kind === 'error-event') {
      format.error(ctx);
      return void res.end();
    }
    format.end(ctx);
    if (scenario.kind === 'ok' && scenario.lingerMs) await pause(scenario.lingerMs);
    res.end();
  }
}

interface Ctx {
  model: string;
  conversationId: string;
  write: (data: unknown, event?: string) => void;
}

const FORMATS: Record<
  Exclude<Vendor, 'transcription'>,
  Record<'start' | 'end' | 'error', (ctx: Ctx) => void> & { delta: (ctx: Ctx, text: string) => void }
> = {
  openai: {
    start: ({ write, model }) =>
      write({
        id: 'chatcmpl-1',
        object: 'chat.completion.chunk',
        created: 0,
        model,
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
      }),
    delta: ({ write, model }, text) =>
      write({
        id: 'chatcmpl-1',
        object: 'chat.completion.chunk',
        created: 0,
        model,
        choices: [{ index: 0, delta: { content: text }, finish_reason: null }],
      }),
    end: ({ write, model }) => {
      write({
        id: 'chatcmpl-1',
        object: 'chat.completion.chunk',
        created: 0,
        model,
        choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
      });
      write({
        id: 'chatcmpl-1',
        object: 'chat.completion.chunk',
        created: 0,
        model,
        choices: [],
        usage: {
          prompt_tokens: FAKE_USAGE.prompt,
          completion_tokens: FAKE_USAGE.completion,
          total_tokens: FAKE_USAGE.prompt + FAKE_USAGE.completion,
        },
      });
      write('[DONE]');
    },
    error: ({ write }) => write({ error: { message: 'fake stream error', type: 'server_error' } }),
  },
  anthropic: {
    start: ({ write, model }) => {
      write(
        {
          type: 'message_start',
          message: {
            id: 'msg_1',
            type: 'message',
            role: 'assistant',
            model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: FAKE_USAGE.prompt, output_tokens: 0 },
          },
        },
        'message_start',
      );
      write(
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        'content_block_start',
      );
    },
    delta: ({ write }, text) =>
      write({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }, 'content_block_delta'),
    end: ({ write }) => {
      write({ type: 'content_block_stop', index: 0 }, 'content_block_stop');
      write(
        {
          type: 'message_delta',
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { output_tokens: FAKE_USAGE.completion },
        },
        'message_delta',
      );
      write({ type: 'message_stop' }, 'message_stop');
    },
    error: ({ write }) => write({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 'error'),
  },
  dify: {
    start: () => undefined,
    delta: ({ write, conversationId }, text) =>
      write({
        event: 'message',
        task_id: 't1',
        message_id: 'm1',
        conversation_id: conversationId,
        answer: text,
        created_at: 0,
      }),
    end: ({ write, conversationId }) =>
      write({
        event: 'message_end',
        task_id: 't1',
        message_id: 'm1',
        conversation_id: conversationId,
        metadata: {
          usage: {
            prompt_tokens: FAKE_USAGE.prompt,
            completion_tokens: FAKE_USAGE.completion,
            total_tokens: FAKE_USAGE.prompt + FAKE_USAGE.completion,
          },
        },
      }),
    error: ({ write }) =>
      write({
        event: 'error',
        task_id: 't1',
        message_id: 'm1',
        status: 400,
        code: 'invalid_param',
        message: 'fake dify error',
      }),
  },
};
