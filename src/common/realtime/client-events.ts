import type { MessageView, SessionView } from '../../session/session-views';

/** Every server → client event, with its payload: the binding protocol (DESIGN section 4). */
export interface ServerToClientEvents {
  models: (payload: { models: { id: string; name: string }[]; defaultModelId: string }) => void;
  'session:state': (payload: SessionView) => void;
  'message:new': (payload: MessageView) => void;
  'ai:start': (payload: { sessionId: string; messageId: string; replyTo: string }) => void;
  'ai:delta': (payload: { sessionId: string; messageId: string; index: number; text: string }) => void;
  'ai:end': (payload: {
    sessionId: string;
    messageId: string;
    replyTo: string;
    seq: number;
    usage?: { promptTokens: number; completionTokens: number; estimated: boolean };
    finishReason: string;
  }) => void;
  /** `seq` is absent when nothing was stored under this messageId (another reply answered the message). */
  'ai:error': (payload: {
    sessionId: string;
    messageId: string;
    replyTo: string;
    seq?: number;
    error: ProtocolError;
  }) => void;
  /** Someone else in the session is typing: the user on another device, or the administrator holding it. */
  typing: (payload: {
    sessionId: string;
    userId: string;
    isTyping: boolean;
    sender: 'user' | 'admin';
    name?: string | null;
  }) => void;
  /** An administrator took the session over: the AI stopped, and answers nothing until `admin:left`. */
  'admin:joined': (payload: { sessionId: string; adminId: string; adminName: string | null }) => void;
  /** The administrator handed the session back to the AI; `reason` says how (left, released, gone, idle). */
  'admin:left': (payload: { sessionId: string; adminId: string; adminName: string | null; reason: string }) => void;
  'auth:expiring': (payload: { expiresAt: string }) => void;
  'server:draining': (payload: Record<string, never>) => void;
  error: (payload: ProtocolError) => void;
}

/** What everyone in a session sees of it: its devices on `/chat`, and administrators watching it on `/admin`. */
export type SessionStreamEvents = Pick<
  ServerToClientEvents,
  | 'session:state'
  | 'message:new'
  | 'ai:start'
  | 'ai:delta'
  | 'ai:end'
  | 'ai:error'
  | 'typing'
  | 'admin:joined'
  | 'admin:left'
>;

export interface ProtocolError {
  code: string;
  message: string;
  recoverable: boolean;
  retryAfterMs?: number;
  /** `session_taken`: the administrator who holds the session. */
  holder?: { id: string; name: string | null };
}
