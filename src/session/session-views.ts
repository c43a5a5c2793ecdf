import { MessageStatus, Sender } from './schemas/message.schema';
import { SessionStatus } from './schemas/session.schema';

/** A session as clients see it (decrypted, no internal fields). */
export interface SessionView {
  id: string;
  name: string | null;
  status: SessionStatus;
  modelId: string;
  startedAt: string;
  lastActivityAt: string;
  lastMessageAt: string | null;
  endedAt: string | null;
  messageCount: number;
  lastSeq: number;
  assisted: boolean;
}

/** A persisted message as in `message:new`, plus its status and, for AI replies, usage. */
export interface MessageView {
  id: string;
  seq: number;
  sessionId: string;
  sender: Sender;
  senderId?: string;
  senderName?: string;
  content: string;
  files: never[];
  createdAt: string;
  status: MessageStatus;
  model?: string;
  usage?: { promptTokens: number; completionTokens: number; estimated: boolean };
  finishReason?: string;
}
