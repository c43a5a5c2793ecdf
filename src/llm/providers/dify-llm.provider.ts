import { errorForStatus, LlmError, parseRetryAfter } from '../llm.errors';
import { LlmProvider, StreamEvent, StreamRequest } from '../llm-provider';
import { sseData } from './sse';

interface DifyEvent {
  event?: string;
  answer?: string;
  conversation_id?: string;
  status?: number;
  code?: string;
  message?: string;
  metadata?: { usage?: { prompt_tokens?: number; completion_tokens?: number } };
}

/**
 * Dify's /chat-messages streaming API. Dify keeps the conversation itself: the new message goes as
 * `query` with the session's `conversation_id`, and the real user id as `user`.
 */
export class DifyLlmProvider extends LlmProvider {
  readonly kind = 'dify';

  async *stream(request: StreamRequest): AsyncIterable<StreamEvent> {
    const { model } = request;
    const query = request.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
    let response: Response;
    try {
      response = await fetch(`${(model.baseUrl ?? '').replace(/\/$/, '')}/chat-messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${model.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: {},
          query,
          response_mode: 'streaming',
          conversation_id: request.conversationId ?? '',
          user: request.userId,
        }),
        signal: request.signal,
      });
    } catch (error) {
      if (request.signal.aborted) throw error;
      throw new LlmError('unavailable', `Dify is unreachable: ${(error as Error).message}`);
    }
    if (!response.ok || !response.body) {
      const body = await response.text().catch(() => '');
      const message = (JSON.parse(body || '{}') as DifyEvent).message ?? `Dify answered ${response.status}`;
      throw errorForStatus(response.status, message, parseRetryAfter(response.headers.get('retry-after')));
    }

    let conversationId = request.conversationId;
    let ended = false;
    try {
      for await (const batch of sseData(response.body)) {
        for (const data of batch) {
          const event = JSON.parse(data) as DifyEvent;
          if (event.conversation_id && event.conversation_id !== conversationId) {
            conversationId = event.conversation_id;
            yield { type: 'conversation', conversationId };
          }
          if ((event.event === 'message' || event.event === 'agent_message') && event.answer) {
            yield { type: 'delta', text: event.answer };
          } else if (event.event === 'message_end') {
            const usage = event.metadata?.usage;
            if (usage) {
              yield {
                type: 'usage',
                promptTokens: usage.prompt_tokens ?? 0,
                completionTokens: usage.completion_tokens ?? 0,
                estimated: false,
              };
            }
            ended = true;
          } else if (event.event === 'error') {
            throw errorForStatus(event.status ?? 500, event.message ?? event.code ?? 'Dify reported an error');
          }
        }
      }
    } catch (error) {
      if (error instanceof LlmError || request.signal.aborted) throw error;
      throw new LlmError('unavailable', `Dify's stream failed: ${(error as Error).message}`);
    }
    if (!ended) throw new LlmError('unavailable', 'The stream ended before the model finished');
    yield { type: 'end', finishReason: 'stop' };
  }
}
