import { ModelConfig } from '../config/llm-models';
import { Attachment, PromptMessage } from './llm-provider';
import { withNotes } from './model-messages';

export interface HistoryMessage {
  sender: 'user' | 'ai' | 'admin' | 'system';
  content: string;
  senderName?: string;
  attachments?: Attachment[];
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

/** A full-size image as Anthropic counts it (OpenAI's high-detail tiles come to less): the budget's worst case. */
export const IMAGE_TOKENS = 1600;

/** What a message costs in the context budget: its text, the notes of its attachments, the images it may show. */
function cost(model: ModelConfig, message: PromptMessage): number {
  const attachments = message.attachments ?? [];
  const images = attachments.filter((a) => model.vision && message.role === 'user' && a.kind === 'image' && a.data);
  const notes = attachments.filter((a) => !images.includes(a));
  return estimateTokens(withNotes(message.content, notes)) + images.length * IMAGE_TOKENS;
}

/**
 * The system prompt, then as much of the history as fits the model's context budget (newest kept
 * first), then the new message and its attachments. Administrators' messages are the assistant's side
 * of the conversation, attributed to the human agent who wrote them, with a note that a human answered.
 */
export function buildPrompt(
  model: ModelConfig,
  history: HistoryMessage[],
  current: string,
  attachments: Attachment[] = [],
): PromptMessage[] {
  const asked: PromptMessage = { role: 'user', content: current, ...(attachments.length > 0 && { attachments }) };
  const system: PromptMessage[] = model.systemPrompt ? [{ role: 'system', content: model.systemPrompt }] : [];
  const note: PromptMessage[] = history.some((m) => m.sender === 'admin' && m.content !== '')
    ? [{ role: 'system', content: HUMAN_AGENT_NOTE }]
    : [];
  let budget =
    model.contextTokens -
    model.maxTokens -
    cost(model, asked) -
    [...system, ...note].reduce((sum, m) => sum + estimateTokens(m.content), 0);
  const kept: PromptMessage[] = [];
  for (let i = history.length - 1; i >= 0; i--) {
    const message = history[i];
    const files = message.attachments ?? [];
    if (message.sender === 'system' || (message.content === '' && files.length === 0)) continue;
    const content = message.sender === 'admin' ? humanAgentLine(message.content, message.senderName) : message.content;
    const said: PromptMessage = {
      role: message.sender === 'user' ? 'user' : 'assistant',
      content,
      ...(files.length > 0 && { attachments: files }),
    };
    if (cost(model, said) > budget) break;
    budget -= cost(model, said);
    kept.push(said);
  }
  const humanKept = kept.some((m) => m.content.startsWith('[Human agent'));
  return [...system, ...(humanKept ? note : []), ...kept.reverse(), asked];
}
