import { setTimeout as delay } from 'node:timers/promises';
import { LlmError } from '../llm.errors';
import { LlmProvider, StreamEvent, StreamRequest } from '../llm-provider';

/** Replies without any vendor: deterministic text in small deltas at a configurable pace. */
export class DemoLlmProvider extends LlmProvider {
  readonly kind = 'demo';

  constructor(private readonly deltaIntervalMs: number) {
    super();
  }

  static replyTo(prompt: string): string {
    const quoted = prompt.length > 200 ? `${prompt.slice(0, 200)}…` : prompt;
    return (
      `You said: "${quoted}". I am the demo model, so I can only echo you. ` +
      'Configure a real model to get real answers.'
    );
  }

  async *stream(request: StreamRequest): AsyncIterable<StreamEvent> {
    const prompt = [...request.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    const reply = DemoLlmProvider.replyTo(prompt);
    for (const piece of reply.match(/\S+\s*/g) ?? []) {
      if (this.deltaIntervalMs > 0) await delay(this.deltaIntervalMs, undefined, { signal: request.signal });
      request.signal.throwIfAborted();
      yield { type: 'delta', text: piece };
    }
    yield { type: 'end', finishReason: 'stop' };
  }

  transcribe(): Promise<string> {
    return Promise.reject(new LlmError('bad_request', 'The demo model does not transcribe audio'));
  }
}
