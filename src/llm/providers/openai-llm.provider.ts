import OpenAI, { APIConnectionTimeoutError, APIError, APIUserAbortError, toFile } from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { HANDOFF_TOOL_DESCRIPTION, HANDOFF_TOOL_NAME, HANDOFF_TOOL_PARAMETERS, handoffReason } from '../handoff-tool';
import { errorForStatus, LlmError, parseRetryAfter } from '../llm.errors';
import { ClientCache } from './client-cache';
import { sseData } from './sse';
import { LlmProvider, ModelMessage, StreamEvent, StreamRequest, TranscriptionRequest } from '../llm-provider';

/** A user message with images is a content array: its text, then each image as a base64 data URL. */
export function toOpenAiMessage({ role, content, images = [] }: ModelMessage): ChatCompletionMessageParam {
  if (role !== 'user' || images.length === 0) return { role, content };
  return {
    role,
    content: [
      ...(content === '' ? [] : [{ type: 'text' as const, text: content }]),
      ...images.map(({ mimeType, data }) => ({
        type: 'image_url' as const,
        image_url: { url: `data:${mimeType};base64,${data.toString('base64')}` },
      })),
    ],
  };
}

/** OpenAI's chat completions, and every server that speaks them (Ollama, vLLM, LM Studio, OpenRouter, Azure). */
export class OpenAiLlmProvider extends LlmProvider {
  readonly kind = 'openai';
  // Retries and timeouts belong to LlmService, which sees every provider alike.
  private readonly clients = new ClientCache(
    (model) => new OpenAI({ apiKey: model.apiKey, baseURL: model.baseUrl, maxRetries: 0, timeout: 600000 }),
  );

  async *stream(request: StreamRequest): AsyncIterable<StreamEvent> {
    const { model } = request;
    let finishReason: string | undefined;
    // Streamed tool calls, by their index: the name comes in the first chunk, the arguments in fragments.
    const calls = new Map<number, { name: string; args: string }>();
    // A signal of its own, so a body that lingers after `[DONE]` can be cut without touching the caller's.
    const local = new AbortController();
    const forward = () => local.abort(request.signal.reason);
    request.signal.addEventListener('abort', forward, { once: true });
    if (request.signal.aborted) forward();
    let batches: AsyncGenerator<string[]> | undefined;
    let said = false;
    try {
      // The SDK sends the request and turns refusals into errors; the stream's bytes are decoded here,
      // since its per-chunk decoding was the largest part of Chatbox's CPU per relayed token.
      const response = await this.clients
        .for(model)
        .chat.completions.create(
          {
            model: model.model,
            messages: request.messages.map(toOpenAiMessage),
            stream: true,
            stream_options: { include_usage: true },
            max_tokens: model.maxTokens,
            temperature: model.temperature,
            user: request.userId,
            ...(request.offerHandoff && { tools: [HANDOFF_TOOL] }),
          },
          { signal: local.signal },
        )
        .asResponse();
      if (!response.body) throw new LlmError('unavailable', 'The model answered without a body');
      batches = sseData(response.body);
      read: for (let next = await batches.next(); !next.done; next = await batches.next()) {
        for (const data of next.value) {
          said = data.startsWith('[DONE]');
          if (said) break read;
          const chunk = JSON.parse(data) as ChatCompletionChunk & { error?: { message?: string } };
          if (chunk.error) throw new LlmError('unavailable', chunk.error.message ?? 'The model reported an error');
          const choice = chunk.choices[0];
          if (choice?.delta?.content) yield { type: 'delta', text: choice.delta.content };
          for (const call of choice?.delta?.tool_calls ?? []) {
            const known = calls.get(call.index) ?? { name: '', args: '' };
            known.name ||= call.function?.name ?? '';
            known.args += call.function?.arguments ?? '';
            calls.set(call.index, known);
          }
          if (choice?.finish_reason) finishReason = choice.finish_reason;
          if (chunk.usage) {
            yield {
              type: 'usage',
              promptTokens: chunk.usage.prompt_tokens,
              completionTokens: chunk.usage.completion_tokens,
              estimated: false,
            };
          }
        }
      }
    } catch (error) {
      // A stop or a timeout that lands after the model finished (while its usage was awaited) cuts nothing.
      if (!(finishReason && local.signal.aborted)) throw toLlmError(error);
    } finally {
      request.signal.removeEventListener('abort', forward);
      // A connection is reused only once its body was read to the end: after `[DONE]` the rest is read in
      // the background (cut after a grace period); otherwise (an error, a consumer that stopped) it is cut now.
      if (said && batches) drain(batches, local);
      else local.abort();
    }
    if (!finishReason) throw new LlmError('unavailable', 'The stream ended before the model finished');
    // Only once the reply is whole, so a retried attempt can never have asked for a human already.
    const handoff = request.offerHandoff && [...calls.values()].find((call) => call.name === HANDOFF_TOOL_NAME);
    if (handoff) {
      yield { type: 'handoff', reason: handoffReason(handoff.args) };
      finishReason = 'handoff';
    }
    yield { type: 'end', finishReason };
  }

  async transcribe(request: TranscriptionRequest): Promise<string> {
    try {
      const file = await toFile(request.audio, request.filename, { type: request.mimeType });
      const result = await this.clients
        .for(request.model)
        .audio.transcriptions.create({ file, model: request.model.model }, { signal: request.signal });
      return result.text;
    } catch (error) {
      throw toLlmError(error);
    }
  }
}

const HANDOFF_TOOL: ChatCompletionTool = {
  type: 'function',
  function: { name: HANDOFF_TOOL_NAME, description: HANDOFF_TOOL_DESCRIPTION, parameters: HANDOFF_TOOL_PARAMETERS },
};

/** How long a body that said `[DONE]` may take to end before its connection is cut. */
const DRAIN_GRACE_MS = 2000;

function drain(batches: AsyncGenerator<string[]>, cut: AbortController): void {
  const timer = setTimeout(() => cut.abort(), DRAIN_GRACE_MS).unref();
  void (async () => {
    try {
      while (!(await batches.next()).done);
    } catch {
      // Cut after the grace period, or the connection failed: nothing was owed anymore.
    } finally {
      clearTimeout(timer);
    }
  })();
}

function toLlmError(error: unknown): unknown {
  if (error instanceof APIUserAbortError || error instanceof LlmError) return error;
  if (error instanceof APIConnectionTimeoutError) return new LlmError('timeout', error.message);
  if (error instanceof APIError && error.status !== undefined) {
    if (error.code === 'content_filter') return new LlmError('content_filter', error.message);
    const headers = error.headers as Headers | undefined;
    return errorForStatus(error.status as number, error.message, parseRetryAfter(headers?.get('retry-after')));
  }
  return new LlmError('unavailable', (error as Error).message);
}
