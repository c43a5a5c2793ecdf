import Anthropic, { APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import type { ImageBlockParam, MessageParam, TextBlockParam, Tool } from '@anthropic-ai/sdk/resources/messages';
import { HANDOFF_TOOL_DESCRIPTION, HANDOFF_TOOL_NAME, HANDOFF_TOOL_PARAMETERS, handoffReason } from '../handoff-tool';
import { errorForStatus, LlmError, parseRetryAfter } from '../llm.errors';
import { ClientCache } from './client-cache';
import { LlmProvider, ModelMessage, StreamEvent, StreamRequest } from '../llm-provider';

/**
 * Anthropic wants the system prompt apart and turns that alternate, starting with the user. A turn with
 * images is a list of content blocks, each image (base64) before its text, as Anthropic advises.
 */
export function toAnthropicMessages(messages: ModelMessage[]): { system?: string; messages: MessageParam[] } {
  const system = messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .join('\n\n');
  const turns: { role: 'user' | 'assistant'; blocks: (TextBlockParam | ImageBlockParam)[] }[] = [];
  for (const m of messages) {
    if (m.role === 'system') continue;
    const blocks = [
      ...(m.images ?? []).map(({ mimeType, data }): ImageBlockParam => ({
        type: 'image',
        source: { type: 'base64', media_type: mimeType, data: data.toString('base64') },
      })),
      { type: 'text' as const, text: m.content },
    ];
    const last = turns[turns.length - 1];
    if (last?.role === m.role) last.blocks.push(...blocks);
    else if (turns.length > 0 || m.role === 'user') turns.push({ role: m.role, blocks });
  }
  return {
    system: system || undefined,
    messages: turns.map(({ role, blocks }) => {
      const texts = blocks.flatMap((b) => (b.type === 'text' ? [b.text] : []));
      // Text alone stays one string, as before images; Anthropic refuses empty text blocks beside images.
      if (texts.length === blocks.length) return { role, content: texts.join('\n\n') };
      return { role, content: blocks.filter((b) => b.type !== 'text' || b.text !== '') };
    }),
  };
}

export class AnthropicLlmProvider extends LlmProvider {
  readonly kind = 'anthropic';
  // Retries and timeouts belong to LlmService, which sees every provider alike.
  private readonly clients = new ClientCache(
    (model) => new Anthropic({ apiKey: model.apiKey, baseURL: model.baseUrl, maxRetries: 0, timeout: 600000 }),
  );

  async *stream(request: StreamRequest): AsyncIterable<StreamEvent> {
    const { model } = request;
    const { system, messages } = toAnthropicMessages(request.messages);
    let promptTokens = 0;
    let completionTokens = 0;
    let stopReason: string | undefined;
    let stopped = false;
    // Open tool_use blocks by their index; the first finished request_human call is the handoff.
    const toolUses = new Map<number, { name: string; input: unknown; json: string }>();
    let handoff: string | undefined;
    try {
      const stream = await this.clients.for(model).messages.create(
        {
          model: model.model,
          max_tokens: model.maxTokens,
          system,
          messages,
          metadata: { user_id: request.userId },
          stream: true,
          ...(request.offerHandoff && { tools: [HANDOFF_TOOL] }),
        },
        { signal: request.signal },
      );
      for await (const event of stream) {
        if (event.type === 'message_start') promptTokens = event.message.usage.input_tokens;
        else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
          yield { type: 'delta', text: event.delta.text };
        } else if (event.type === 'content_block_start' && event.content_block.type === 'tool_use') {
          const { name, input } = event.content_block;
          toolUses.set(event.index, { name, input, json: '' });
        } else if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta') {
          const block = toolUses.get(event.index);
          if (block) block.json += event.delta.partial_json;
        } else if (event.type === 'content_block_stop') {
          const block = toolUses.get(event.index);
          toolUses.delete(event.index);
          if (block?.name === HANDOFF_TOOL_NAME && handoff === undefined) {
            // Without input deltas the block's input is whole at its start.
            handoff = handoffReason(block.json === '' ? block.input : block.json);
          }
        } else if (event.type === 'message_delta') {
          completionTokens = event.usage.output_tokens;
          stopReason = event.delta.stop_reason ?? undefined;
        } else if (event.type === 'message_stop') stopped = true;
      }
    } catch (error) {
      throw toLlmError(error);
    }
    if (!stopped) throw new LlmError('unavailable', 'The stream ended before the model finished');
    yield { type: 'usage', promptTokens, completionTokens, estimated: false };
    // Only once the reply is whole, so a retried attempt can never have asked for a human already.
    if (request.offerHandoff && handoff !== undefined) {
      yield { type: 'handoff', reason: handoff };
      stopReason = 'handoff';
    }
    yield { type: 'end', finishReason: stopReason ?? 'end_turn' };
  }
}

const HANDOFF_TOOL: Tool = {
  name: HANDOFF_TOOL_NAME,
  description: HANDOFF_TOOL_DESCRIPTION,
  input_schema: HANDOFF_TOOL_PARAMETERS,
};

function toLlmError(error: unknown): unknown {
  if (error instanceof APIUserAbortError) return error;
  if (error instanceof APIConnectionTimeoutError) return new LlmError('timeout', error.message);
  if (error instanceof APIError && error.status !== undefined) {
    const headers = error.headers as Headers | undefined;
    return errorForStatus(error.status as number, error.message, parseRetryAfter(headers?.get('retry-after')));
  }
  return new LlmError('unavailable', (error as Error).message);
}
