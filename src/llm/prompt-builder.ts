import { ModelConfig } from '../config/llm-models';
import { PromptMessage } from './llm-provider';

export interface HistoryMessage {
  sender: 'user' | 'ai' | 'admin' | 'system';
  content: string;
  senderName?: string;
}

/** A rough token count (four characters a token) for budgets and for providers that report no usage. */
export const estimateTokens = (text: string) => Math.ceil(text.length / 4) + 1;

/** Told to the model when a human agent answered part of the conversation it continues. */
export const HUMAN_AGENT_NOTE =
  'A human support agent answered part of this conversation; their replies are the assistant messages that ' +
  'start with [Human agent]. Continue as the assistant, taking what they said into account, and never start ' +
  'a reply with that mark yourself.';

/** A human agent's reply as the model reads it: on the assistant's side, marked as said by a person. */
export const humanAgentLine = (content: string, name?: string) => `[Human agent${name ? ` ${name}` : ''}] ${content}`;

/**
 * The system prompt, then as much of the history as fits the model's context budget (newest kept
 * first), then the new message. Administrators' messages are the assistant's side of the conversation,
 * attributed to the human agent who wrote them, with a note that a human answered.
 */
export function buildPrompt(model: ModelConfig, history: HistoryMessage[], current: string): PromptMessage[] {
  const system: PromptMessage[] = model.systemPrompt ? [{ role: 'system', content: model.systemPrompt }] : [];
  const note: PromptMessage[] = history.some((m) => m.sender === 'admin' && m.content !== '')
    ? [{ role: 'system', content: HUMAN_AGENT_NOTE }]
    : [];
  let budget =
    model.contextTokens -
    model.maxTokens -
    estimateTokens(current) -
    [...system, ...note].reduce((sum, m) => sum + estimateTokens(m.content), 0);
  const kept: PromptMessage[] = [];
  for (let i = history.length - 1; i >= 0; i--) {
    const message = history[i];
    if (message.sender === 'system' || message.content === '') continue;
    const content = message.sender === 'admin' ? humanAgentLine(message.content, message.senderName) : message.content;
    const cost = estimateTokens(content);
    if (cost > budget) break;
    budget -= cost;
    kept.push({ role: message.sender === 'user' ? 'user' : 'assistant', content });
  }
  const humanKept = kept.some((m) => m.content.startsWith('[Human agent'));
  return [...system, ...(humanKept ? note : []), ...kept.reverse(), { role: 'user', content: current }];
}
