/** The shapes of docs/protocol.md the pages use (the server is the authority; see that document). */

export interface ProtocolError {
  code: string;
  message: string;
  recoverable: boolean;
  retryAfterMs?: number;
  holder?: { id: string; name: string | null };
}

export type Ack<T> = { ok: true; data: T } | { ok: false; error: ProtocolError };

export interface HolderView {
  id: string;
  name: string | null;
}

export interface HelpView {
  requestedAt: string;
  source: 'user' | 'ai';
  reason: string | null;
}

export interface SessionView {
  id: string;
  name: string | null;
  status: 'active' | 'ended';
  modelId: string;
  owner: string;
  epoch: number;
  startedAt: string;
  lastActivityAt: string;
  lastMessageAt: string | null;
  endedAt: string | null;
  messageCount: number;
  lastSeq: number;
  assisted: boolean;
  holder: HolderView | null;
  help: HelpView | null;
}

export type MessageStatus = 'complete' | 'stopped' | 'interrupted' | 'failed' | 'unreadable';

/** What a voice note's transcription gave; absent while none is stored. */
export type FileTranscript = { status: 'done'; text: string } | { status: 'unavailable' | 'failed' };

/** A file a message carries: the pages read its bytes from `GET <prefix>/files/:id/content`. */
export interface FileRef {
  id: string;
  name: string;
  type: string;
  size: number;
  /** Audio files: the transcription, once one is stored (`message:new` is sent again then). */
  transcript?: FileTranscript;
}

/** What `POST <prefix>/files` answers. */
export interface UploadedFile {
  fileId: string;
  name: string;
  type: string;
  size: number;
}

export interface MessageView {
  id: string;
  seq: number;
  sessionId: string;
  sender: 'user' | 'ai' | 'admin' | 'system';
  senderId?: string;
  senderName?: string;
  content: string;
  files?: FileRef[];
  createdAt: string;
  status: MessageStatus;
  replyTo?: string;
  finishReason?: string;
  error?: { code: string; message: string; recoverable: boolean };
}

export interface InFlightReply {
  messageId: string;
  replyTo: string;
  index: number | null;
  text: string | null;
}

export interface ResumeResult {
  session: SessionView;
  messages: MessageView[];
  hasMore: boolean;
  inFlight: InFlightReply | null;
}

export interface ModelsEvent {
  models: { id: string; name: string }[];
  defaultModelId: string;
}

export interface AiStart {
  sessionId: string;
  messageId: string;
  replyTo: string;
}

export interface AiDelta {
  sessionId: string;
  messageId: string;
  index: number;
  text: string;
}

export interface AiEnd {
  sessionId: string;
  messageId: string;
  replyTo: string;
  seq: number;
  finishReason: string;
}

export interface AiError {
  sessionId: string;
  messageId: string;
  replyTo: string;
  seq?: number;
  error: ProtocolError;
}

export interface TypingEvent {
  sessionId: string;
  userId: string;
  isTyping: boolean;
  sender: 'user' | 'admin';
  name?: string | null;
}

export interface AdminPresence {
  sessionId: string;
  adminId: string;
  adminName: string | null;
  reason?: string;
}
