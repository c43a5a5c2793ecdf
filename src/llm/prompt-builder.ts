import { ModelConfig } from '../config/llm-models';
import { PromptMessage } from './llm-provider';

export interface HistoryMessage {
  sender: 'user' | 'ai' | 'admin' | 'system';
  content: string;
  senderName?: string;
}

/** A rough token count (four characters a token) for budgets and for providers that report no usage. */
export const estimateTokens = (text: string) => Math.ceil(text.length / 4) + 1;

/**
 * The system prompt, then as much of the history as fits the model's context budget (newest kept
 * first), then the new message. Admin messages are the assistant's side of the conversation.
 */
export function buildPrompt(model: ModelConfig, history: HistoryMessage[], current: string): PromptMessage[] {
  const system: PromptMessage[] = model.systemPrompt ? [{ role: 'system', content: model.systemPrompt }] : [];
  let budget =
    model.contextTokens -
    model.maxTokens -
    estimateTokens(current) -
    (model.systemPrompt ? estimateTokens(model.systemPrompt) : 0);
  const kept: PromptMessage[] = [];
  for (let i = history.length - 1; i >= 0; i--) {
    const message = history[i];
    if (message.sender === 'system' || message.content === '') continue;
    const cost = estimateTokens(message.content);
    if (cost > budget) break;
    budget -= cost;
    kept.push({ role: message.sender === 'user' ? 'user' : 'assistant', content: message.content });
  }
  return [...system, ...kept.reverse(), { role: 'user', content: current }];
}
