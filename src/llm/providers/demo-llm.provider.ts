import { setTimeout as delay } from 'node:timers/promises';
import { LlmProvider, ModelMessage, StreamEvent, StreamRequest } from '../llm-provider';

const QUOTE_MAX = 200;

function quote(text: string): string {
  if (text.length <= QUOTE_MAX) return text;
  const cut = text.slice(0, QUOTE_MAX);
  // Never end on half of a surrogate pair.
  return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
}

/**
 * Replies without any vendor: deterministic text in small deltas at a configurable pace. The reply
 * shows what it was given — the last two user messages and how many messages it saw — so the prompt
 * a turn builds (history, order, trimming) is visible from outside.
 */
export class DemoLlmProvider extends LlmProvider {
  readonly kind = 'demo';

  constructor(private readonly deltaIntervalMs: number) {
    super();
  }

  static replyTo(messages: ModelMessage[]): string {
    const said = messages.filter((m) => m.role !== 'system');
    const users = said.filter((m) => m.role === 'user');
    const current = users.at(-1)?.content ?? '';
    const previous = users.at(-2)?.content;
    return (
      `You said: "${quote(current)}". ` +
      (previous === undefined ? '' : `Before that you said: "${quote(previous)}". `) +
      `I saw ${said.length} message${said.length === 1 ? '' : 's'} of our conversation. ` +
      'I am the demo model, so I can only echo you. Configure a real model to get real answers.'
    );
  }

  async *stream(request: StreamRequest): AsyncIterable<StreamEvent> {
    const reply = DemoLlmProvider.replyTo(request.messages);
    for (const piece of reply.match(/\S+\s*/g) ?? []) {
      if (this.deltaIntervalMs > 0) await delay(this.deltaIntervalMs, undefined, { signal: request.signal });
      request.signal.throwIfAborted();
      yield { type: 'delta', text: piece };
    }
    yield { type: 'end', finishReason: 'stop' };
  }
}
