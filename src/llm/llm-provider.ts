import { ModelConfig } from '../config/llm-models';

/** An image the user sent; `data` is absent when the caller did not load the bytes (then it is only noted). */
export interface ImageAttachment {
  kind: 'image';
  name: string;
  mimeType: string;
  /** The stored file it is, for its bytes to be loaded when a model may see it. */
  fileId?: string;
  data?: Buffer;
}

/** Any other file the user sent: the model is only told of it. */
export interface FileAttachment {
  kind: 'file';
  name: string;
  mimeType: string;
  size: number;
}

/** A voice note: the model reads its transcript as the user's words, or why there is none. */
export interface VoiceAttachment {
  kind: 'voice';
  name: string;
  mimeType: string;
  /** Absent when it was never transcribed. */
  transcript?: { status: 'done'; text: string } | { status: 'unavailable' | 'failed' };
}

export type Attachment = ImageAttachment | FileAttachment | VoiceAttachment;

export interface PromptMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
  /** What was sent with the text, in order (only a user message's images may be shown to a model). */
  attachments?: Attachment[];
}

export type ViewableImageType = 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp';

export interface ModelImage {
  mimeType: ViewableImageType;
  data: Buffer;
}

/** A prompt message as one model takes it: every attachment it does not view is a note in `content`. */
export interface ModelMessage {
  role: PromptMessage['role'];
  content: string;
  /** User messages of a vision model only: the images it is shown with the text. */
  images?: ModelImage[];
}

export interface StreamRequest {
  model: ModelConfig;
  /** System prompt first, then the trimmed history, then the new user message. */
  messages: ModelMessage[];
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
}
