import { MessageStatus, Sender } from './schemas/message.schema';
import { HelpSource, SessionOwner, SessionStatus } from './schemas/session.schema';

/** A session as clients see it (decrypted, no internal fields). */
export interface SessionView {
  id: string;
  name: string | null;
  status: SessionStatus;
  modelId: string;
  /** `ai`, or `admin:<id>` while an administrator holds the session. */
  owner: SessionOwner;
  /** Grows on every change of owner. */
  epoch: number;
  startedAt: string;
  lastActivityAt: string;
  lastMessageAt: string | null;
  endedAt: string | null;
  messageCount: number;
  lastSeq: number;
  assisted: boolean;
  /** The administrator answering instead of the AI, or null. */
  holder: HolderView | null;
  /** The open request for a human, or null. */
  help: HelpView | null;
}

export interface HolderView {
  id: string;
  name: string | null;
}

export interface HelpView {
  requestedAt: string;
  source: HelpSource;
  reason: string | null;
}

/**
 * A voice note's transcript: its text, or why there is none (`unavailable`: no TRANSCRIPTION_MODEL is
 * configured; `failed`: the transcription failed). Absent while it has not been transcribed.
 */
export type Transcript = { status: 'done'; text: string } | { status: 'unavailable' | 'failed' };

/** Audio files are voice notes: the turn answering their message transcribes them. */
export const isVoiceNote = (file: { type: string }) => file.type.startsWith('audio/');

/** A file a message carries: metadata only; its bytes are fetched through `GET <prefix>/files/:id`. */
export interface FileRef {
  id: string;
  name: string;
  type: string;
  size: number;
  /** Voice notes (audio files) only, once transcribed. */
  transcript?: Transcript;
}

/**
 * A persisted message as in `message:new`, plus its status and, for AI replies, the user message it
 * answers (`replyTo`) and usage. A stored value that cannot be decrypted is `unreadable` with no content.
 */
export interface MessageView {
  id: string;
  seq: number;
  sessionId: string;
  sender: Sender;
  senderId?: string;
  senderName?: string;
  content: string;
  files: FileRef[];
  createdAt: string;
  status: MessageStatus | 'unreadable';
  replyTo?: string;
  replyToSeq?: number;
  model?: string;
  usage?: { promptTokens: number; completionTokens: number; estimated: boolean };
  finishReason?: string;
  /** For a reply that did not end well: what its `ai:error` said. */
  error?: { code: string; message: string; recoverable: boolean };
}

/** One page of a transcript, in seq order. */
export interface TranscriptPage {
  messages: MessageView[];
  /** More messages exist beyond the page, in the direction it was read. */
  hasMore: boolean;
}

/** A session as the admin queue shows it. */
export interface AdminSessionView {
  id: string;
  userId: string;
  userName: string | null;
  name: string | null;
  status: SessionStatus;
  owner: SessionOwner;
  epoch: number;
  /** Grows with every change told here: keep the view with the higher `rev` (an upsert may overtake the snapshot). */
  rev: number;
  modelId: string;
  startedAt: string;
  lastActivityAt: string;
  endedAt: string | null;
  /** 0 while the session is active. */
  durationMs: number;
  messageCount: number;
  /** Prompt and completion tokens of every AI reply. */
  totalTokens: number;
  /** An administrator has held the session. */
  assisted: boolean;
  /** How many times a human was asked for. */
  helpRequests: number;
  holder: HolderView | null;
  /** The open help request (its `requestedAt` says how long the user has waited), or null. */
  help: HelpView | null;
}
