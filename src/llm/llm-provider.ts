export interface PromptMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ModelDefinition {
  id: string;
  name: string;
  provider: string;
}

export interface StreamRequest {
  model: ModelDefinition;
  messages: PromptMessage[];
  userId: string;
  sessionId: string;
  signal: AbortSignal;
}

export type StreamEvent =
  | { type: 'delta'; text: string }
  | { type: 'usage'; promptTokens: number; completionTokens: number; estimated: boolean }
  | { type: 'end'; finishReason: string };

/** One vendor's streaming chat API, translated into deltas and usage. */
export abstract class LlmProvider {
  abstract readonly kind: string;
  abstract stream(request: StreamRequest): AsyncIterable<StreamEvent>;
}
