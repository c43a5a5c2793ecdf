import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { encodeStamp, wallMs } from '../lib/clock';
import { serveRpc } from '../lib/rpc';
import { distribution, Distribution } from '../lib/stats';

/**
 * A fake vendor upstream speaking OpenAI chat-completions SSE, one token per chunk at a fixed rate.
 * The last user message says what to stream: `id=<id> n=<tokens|inf> rate=<tokens per second, 0: at once>`.
 * Each token's text is its due time (see clock.ts) and a space, so a client can tell how late it arrived.
 */
const EPOCH_MS = Number(process.env.BENCH_EPOCH_MS);

interface Directives {
  id: string;
  tokens: number;
  rate: number;
}

interface Stream {
  id: string;
  /** performance.now() when the request arrived. */
  receivedAt: number;
  res: ServerResponse;
  prefix: string;
  suffix: string;
  model: string;
  sent: number;
  tokens: number;
  startMs: number;
  intervalMs: number;
  timer?: NodeJS.Timeout;
}

const open = new Set<Stream>();
const firstChunkMs = new Map<string, number>();
let lags: number[] = [];
let windowTokens = 0;

function directives(content: string): Directives {
  const fields = Object.fromEntries([...content.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
  return {
    id: fields.id ?? '',
    tokens: fields.n === 'inf' ? Infinity : Number(fields.n ?? 5),
    rate: Number(fields.rate ?? 50),
  };
}

function lastUserContent(body: { messages?: { role: string; content: unknown }[] }): string {
  const last = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user');
  if (typeof last?.content === 'string') return last.content;
  // Content may come as parts.
  return Array.isArray(last?.content) ? (last.content as { text?: string }[]).map((p) => p.text ?? '').join('') : '';
}

const head = (model: string) =>
  `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":0,"model":${model},`;
const chunk = (model: string, rest: string) => `${head(model)}${rest}}\n\n`;

function finish(stream: Stream): void {
  clearTimeout(stream.timer);
  open.delete(stream);
  if (stream.res.destroyed) return;
  const usage = `"usage":{"prompt_tokens":10,"completion_tokens":${stream.sent},"total_tokens":${stream.sent + 10}}`;
  stream.res.write(chunk(stream.model, `"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]`));
  stream.res.write(chunk(stream.model, `"choices":[],${usage}`));
  stream.res.end('data: [DONE]\n\n');
}

/** Writes every token due by now, each stamped with its due time; then waits for the next one. */
function pump(stream: Stream): void {
  const now = wallMs();
  while (stream.sent < stream.tokens) {
    const due = stream.startMs + stream.sent * stream.intervalMs;
    if (due > now) break;
    stream.res.write(stream.prefix + encodeStamp(EPOCH_MS, due) + ' ' + stream.suffix);
    if (stream.sent === 0 && stream.id) firstChunkMs.set(stream.id, performance.now() - stream.receivedAt);
    lags.push(now - due);
    windowTokens++;
    stream.sent++;
  }
  if (stream.sent >= stream.tokens) return finish(stream);
  const nextDue = stream.startMs + stream.sent * stream.intervalMs;
  stream.timer = setTimeout(() => pump(stream), Math.max(0, nextDue - wallMs()));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const receivedAt = performance.now();
  const chunks: Buffer[] = [];
  for await (const part of req) chunks.push(part as Buffer);
  if (!req.url?.endsWith('/chat/completions')) return void res.writeHead(404).end();
  const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as {
    model?: string;
    messages?: { role: string; content: unknown }[];
  };
  const { id, tokens, rate } = directives(lastUserContent(body));
  const model = JSON.stringify(body.model ?? 'fake');
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write(chunk(model, `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]`));
  const stream: Stream = {
    id,
    receivedAt,
    res,
    model,
    prefix: head(model) + '"choices":[{"index":0,"delta":{"content":"',
    suffix: '"},"finish_reason":null}]}\n\n',
    sent: 0,
    tokens,
    startMs: wallMs(),
    intervalMs: rate > 0 ? 1000 / rate : 0,
  };
  open.add(stream);
  res.on('close', () => {
    clearTimeout(stream.timer);
    open.delete(stream);
  });
  pump(stream);
}

export interface UpstreamApi {
  url(): string;
  /** The upstream's own time from a request's arrival to its first token, by request id (ms). */
  firstChunks(ids: string[]): Record<string, number>;
  windowStart(): void;
  /** How late tokens were written, behind their due time, since windowStart (ms). */
  windowStop(): { lagMs: Distribution; tokens: number };
  /** Ends every open stream normally (finish reason, usage, [DONE]). */
  endAll(): number;
}

const server = createServer((req, res) => void handle(req, res));
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  const api: UpstreamApi = {
    url: () => `http://127.0.0.1:${port}`,
    firstChunks: (ids) => {
      const known: Record<string, number> = {};
      for (const id of ids) {
        const ms = firstChunkMs.get(id);
        if (ms !== undefined) known[id] = ms;
      }
      return known;
    },
    windowStart: () => {
      lags = [];
      windowTokens = 0;
    },
    windowStop: () => ({ lagMs: distribution(lags), tokens: windowTokens }),
    endAll: () => {
      const count = open.size;
      for (const stream of [...open]) finish(stream);
      return count;
    },
  };
  serveRpc(api);
});
