/** Every server → client event, with its payload: the binding protocol (DESIGN section 4). */
export interface ServerToClientEvents {
  models: (payload: { models: { id: string; name: string }[]; defaultModelId: string }) => void;
  'session:state': (payload: Record<string, unknown>) => void;
  'message:new': (payload: Record<string, unknown>) => void;
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
  typing: (payload: { sessionId: string; userId: string; isTyping: boolean }) => void;
  'auth:expiring': (payload: { expiresAt: string }) => void;
  'server:draining': (payload: Record<string, never>) => void;
  error: (payload: ProtocolError) => void;
}

export interface ProtocolError {
  code: string;
  message: string;
  recoverable: boolean;
  retryAfterMs?: number;
}
