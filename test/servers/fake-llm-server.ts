import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';

/** What the next request to a vendor endpoint gets. */
export type Scenario =
  /** `lingerMs`: the response stays open that long after the stream's last event. */
  | { kind: 'ok'; text?: string; lingerMs?: number }
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'cut'; afterDeltas: number; text?: string }
  | { kind: 'slow'; firstTokenDelayMs: number; text?: string }
  | { kind: 'error-event'; afterDeltas?: number }
  | { kind: 'endless'; intervalMs: number }
  /** Each part in turn, waiting for the gate of the same index (if any) after it: a reply held mid-stream. */
  | { kind: 'gated'; parts: string[]; gates: Promise<void>[] }
  /** Answers the last user message by quoting it, a word every `deltaMs`: a reply that names what it answers. */
  | { kind: 'echo'; deltaMs: number }
  /** The text (none by default), then each tool call, its `arguments` (JSON or not) streamed in fragments. */
  | { kind: 'tool-calls'; text?: string; calls: ToolCall[] };

/** A tool call the fake model makes: `arguments` is what the model writes, so it may be malformed. */
export interface ToolCall {
  name: string;
  arguments: string;
}

export type Vendor = 'openai' | 'anthropic' | 'dify' | 'transcription';

/** A multipart/form-data request as the vendor reads it: its text fields, and its files with their bytes. */
export interface RecordedForm {
  fields: Record<string, string>;
  files: Record<string, { name: string; type: string; data: Buffer }>;
}

export interface RecordedRequest {
  vendor: Vendor;
  path: string;
  body: Record<string, unknown>;
  form?: RecordedForm;
  headers: Record<string, string | string[] | undefined>;
  aborted: boolean;
  /** The response closed, ended or cut. */
  closed: boolean;
}

export const FAKE_TEXT = 'Hello from the fake model, streamed word by word.';
export const FAKE_USAGE = { prompt: 42, completion: 11 };
export const FAKE_TRANSCRIPT = 'transcribed words';

const words = (text: string) => text.match(/\S+\s*/g) ?? [];
/** A tool call's arguments as a vendor streams them: a few characters at a time. */
const fragments = (json: string) => json.match(/[\s\S]{1,5}/g) ?? [];
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** Parsed as the vendor would: with the platform's own multipart reader, not by hand. */
async function readForm(raw: Buffer, contentType: string): Promise<RecordedForm> {
  const form: RecordedForm = { fields: {}, files: {} };
  for (const [key, value] of await new Response(raw, { headers: { 'content-type': contentType } }).formData()) {
    if (typeof value === 'string') form.fields[key] = value;
    else form.files[key] = { name: value.name, type: value.type, data: Buffer.from(await value.arrayBuffer()) };
  }
  return form;
}

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
  /** What a request gets when its vendor's script is empty. */
  fallback: Scenario = { kind: 'ok' };

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
    const contentType = req.headers['content-type'] ?? '';
    const isJson = contentType.includes('json');
    const record: RecordedRequest = {
      vendor,
      path,
      body: isJson ? (JSON.parse(raw.toString() || '{}') as Record<string, unknown>) : { bytes: raw.length },
      ...(contentType.startsWith('multipart/form-data') && { form: await readForm(raw, contentType) }),
      headers: req.headers,
      aborted: false,
      closed: false,
    };
    this.requests.push(record);
    res.on('close', () => {
      if (!res.writableEnded) record.aborted = true;
      record.closed = true;
    });
    const scenario = this.scripts[vendor].shift() ?? this.fallback;
    if (scenario.kind === 'status') {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (scenario.retryAfter) headers['retry-after'] = scenario.retryAfter;
      const error = {
        error: { message: `fake ${scenario.status}`, type: 'fake_error' },
        message: `fake ${scenario.status}`,
      };
      return void res.writeHead(scenario.status, headers).end(JSON.stringify(error));
    }
    // A transcription is one JSON answer: `ok` gives its text, `slow` delays it; the stream faults do not apply.
    if (vendor === 'transcription') {
      if (scenario.kind === 'slow') await pause(scenario.firstTokenDelayMs);
      if (res.destroyed) return;
      const text = ((scenario.kind === 'ok' || scenario.kind === 'slow') && scenario.text) || FAKE_TRANSCRIPT;
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ text }));
    }
    // Dify's chat-messages stream has no tool calls to fake.
    if (scenario.kind === 'tool-calls' && !FORMATS[vendor].tools) return void res.writeHead(501).end();
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
    const ctx: Ctx = {
      model: typeof record.body.model === 'string' ? record.body.model : 'fake',
      conversationId,
      write,
      blocks: 0,
      textOpen: false,
    };
    const { tools } = format;

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
    if (scenario.kind === 'gated') {
      for (const [index, part] of scenario.parts.entries()) {
        if (res.destroyed) return;
        for (const piece of words(part)) format.delta(ctx, piece);
        await scenario.gates[index];
      }
      format.end(ctx, 'stop');
      return void res.end();
    }
    if (scenario.kind === 'echo') {
      for (const piece of words(`Answer to «${lastUserText(record.body)}», in a few words.`)) {
        if (res.destroyed) return;
        format.delta(ctx, piece);
        await pause(scenario.deltaMs);
      }
      format.end(ctx, 'stop');
      return void res.end();
    }
    const pieces = words(
      scenario.kind === 'tool-calls' ? (scenario.text ?? '') : ('text' in scenario && scenario.text) || FAKE_TEXT,
    );
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
    if (scenario.kind === 'tool-calls' && tools) {
      for (const [index, call] of scenario.calls.entries()) {
        tools.start(ctx, index, call.name);
        for (const fragment of fragments(call.arguments)) {
          if (res.destroyed) return;
          tools.arguments(ctx, index, fragment);
          await pause(5);
        }
        tools.stop(ctx, index);
      }
    }
    format.end(ctx, scenario.kind === 'tool-calls' ? 'tool' : 'stop');
    if (scenario.kind === 'ok' && scenario.lingerMs) await pause(scenario.lingerMs);
    res.end();
  }
}

/** The text of the newest user message of an OpenAI or Anthropic request (string or text-part content). */
function lastUserText(body: Record<string, unknown>): string {
  const messages = (body.messages ?? []) as { role: string; content: unknown }[];
  const last = [...messages].reverse().find((m) => m.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  return (last.content as { type: string; text?: string }[])
    .filter((part) => part.type === 'text')
    .map((part) => part.text ?? '')
    .join('');
}

interface Ctx {
  model: string;
  conversationId: string;
  write: (data: unknown, event?: string) => void;
  /** Anthropic: the content blocks begun so far, and whether the last one is a text block still open. */
  blocks: number;
  textOpen: boolean;
}

interface Format {
  start: (ctx: Ctx) => void;
  delta: (ctx: Ctx, text: string) => void;
  /** `tool`: the reply ended in tool calls, which the model waits on. */
  end: (ctx: Ctx, finish: 'stop' | 'tool') => void;
  error: (ctx: Ctx) => void;
  /** A tool call, `index` counting the reply's calls: its start, its arguments' fragments, its end. */
  tools?: {
    start: (ctx: Ctx, index: number, name: string) => void;
    arguments: (ctx: Ctx, index: number, fragment: string) => void;
    stop: (ctx: Ctx, index: number) => void;
  };
}

const openAiChunk = (model: string, delta: Record<string, unknown>, finishReason: string | null = null) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 0,
  model,
  choices: [{ index: 0, delta, finish_reason: finishReason }],
});

const closeAnthropicText = (ctx: Ctx) => {
  if (!ctx.textOpen) return;
  ctx.write({ type: 'content_block_stop', index: ctx.blocks - 1 }, 'content_block_stop');
  ctx.textOpen = false;
};

const FORMATS: Record<Exclude<Vendor, 'transcription'>, Format> = {
  openai: {
    start: ({ write, model }) => write(openAiChunk(model, { role: 'assistant', content: '' })),
    delta: ({ write, model }, text) => write(openAiChunk(model, { content: text })),
    end: ({ write, model }, finish) => {
      write(openAiChunk(model, {}, finish === 'tool' ? 'tool_calls' : 'stop'));
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
    // The first chunk of a call names it and has empty arguments; later chunks carry only `index` and fragments.
    tools: {
      start: ({ write, model }, index, name) =>
        write(
          openAiChunk(model, {
            tool_calls: [{ index, id: `call_fake${index}`, type: 'function', function: { name, arguments: '' } }],
          }),
        ),
      arguments: ({ write, model }, index, fragment) =>
        write(openAiChunk(model, { tool_calls: [{ index, function: { arguments: fragment } }] })),
      stop: () => undefined,
    },
  },
  anthropic: {
    start: ({ write, model }) =>
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
      ),
    delta: (ctx, text) => {
      if (!ctx.textOpen) {
        ctx.write(
          { type: 'content_block_start', index: ctx.blocks, content_block: { type: 'text', text: '' } },
          'content_block_start',
        );
        ctx.blocks += 1;
        ctx.textOpen = true;
      }
      ctx.write(
        { type: 'content_block_delta', index: ctx.blocks - 1, delta: { type: 'text_delta', text } },
        'content_block_delta',
      );
    },
    end: (ctx, finish) => {
      closeAnthropicText(ctx);
      ctx.write(
        {
          type: 'message_delta',
          delta: { stop_reason: finish === 'tool' ? 'tool_use' : 'end_turn', stop_sequence: null },
          usage: { output_tokens: FAKE_USAGE.completion },
        },
        'message_delta',
      );
      ctx.write({ type: 'message_stop' }, 'message_stop');
    },
    error: ({ write }) => write({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 'error'),
    // A tool_use block starts with an empty input, which then streams as partial JSON (the first part empty).
    tools: {
      start: (ctx, index, name) => {
        closeAnthropicText(ctx);
        ctx.write(
          {
            type: 'content_block_start',
            index: ctx.blocks,
            content_block: { type: 'tool_use', id: `toolu_fake${index}`, name, input: {} },
          },
          'content_block_start',
        );
        ctx.blocks += 1;
        ctx.write(
          { type: 'content_block_delta', index: ctx.blocks - 1, delta: { type: 'input_json_delta', partial_json: '' } },
          'content_block_delta',
        );
      },
      arguments: (ctx, _index, fragment) =>
        ctx.write(
          {
            type: 'content_block_delta',
            index: ctx.blocks - 1,
            delta: { type: 'input_json_delta', partial_json: fragment },
          },
          'content_block_delta',
        ),
      stop: (ctx) => ctx.write({ type: 'content_block_stop', index: ctx.blocks - 1 }, 'content_block_stop'),
    },
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

/** One entry of LLM_MODELS, for a model that a FakeLlmServer serves. */
export interface FakeModelEntry {
  id: string;
  name?: string;
  provider: 'openai';
  model: string;
  baseUrl: string;
  apiKey: string;
  transcriptionOnly?: boolean;
}

/** An LLM_MODELS entry for an OpenAI-compatible chat model that `fake` serves: `gpt` (`gpt-fake`) unless `entry` says otherwise. */
export function fakeModel(fake: FakeLlmServer, entry: Partial<FakeModelEntry> = {}): FakeModelEntry {
  return { id: 'gpt', provider: 'openai', model: 'gpt-fake', baseUrl: `${fake.baseUrl}/v1`, apiKey: 'k', ...entry };
}

/** The LLM_MODELS entry of `ears`, a transcription-only model (`whisper-fake`) that `fake` serves: TRANSCRIPTION_MODEL names it. */
export function transcriptionModel(fake: FakeLlmServer): FakeModelEntry {
  return fakeModel(fake, { id: 'ears', model: 'whisper-fake', transcriptionOnly: true });
}
