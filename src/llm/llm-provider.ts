import { ModelConfig } from '../config/llm-models';

export interface PromptMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface StreamRequest {
  model: ModelConfig;
  /** System prompt first, then the trimmed history, then the new user message. */
  messages: PromptMessage[];
  userId: string;
  sessionId: string;
  /** A provider-side conversation this session already has (Dify keeps its own history). */
  conversationId?: string;
  /** Offer the model the `request_human` tool (openai and anthropic models only). */
  offerHandoff?: boolean;
  signal: AbortSignal;
}

export type StreamEvent =
  | { type: 'delta'; text: string }
  | { type: 'usage'; promptTokens: number; completionTokens: number; estimated: boolean }
  | { type: 'conversation'; conversationId: string }
  /** The model called `request_human`; it comes once, after the stream completed, just before `end`. */
  | { type: 'handoff'; reason: string }
  /** `finishReason` is `handoff` when a handoff event came before it. */
  | { type: 'end'; finishReason: string };

export interface TranscriptionRequest {
  model: ModelConfig;
  audio: Buffer;
  filename: string;
  mimeType: string;
  signal: AbortSignal;
}

/** One vendor's API, translated into deltas and usage; vendor errors become LlmError codes. */
export abstract class LlmProvider {
  abstract readonly kind: string;
  abstract stream(request: StreamRequest): AsyncIterable<StreamEvent>;
  abstract transcribe(request: TranscriptionRequest): Promise<string>;
}
