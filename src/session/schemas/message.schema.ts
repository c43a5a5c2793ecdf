import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

export type Sender = 'user' | 'ai' | 'admin' | 'system';
export type MessageStatus = 'complete' | 'stopped' | 'interrupted' | 'failed';
/** A voice note's transcript at rest: `text` is encrypted. */
export type StoredTranscript = { status: 'done'; text: string } | { status: 'unavailable' | 'failed' };

/** The client keys of the transcript markers of a session's n-th help request, as it opens and if withdrawn. */
const HELP_MARKER_PREFIXES = { help: 's:help:', 'help-cancel': 's:help-cancel:' } as const;
export type HelpMarkerKind = keyof typeof HELP_MARKER_PREFIXES;
export const helpMarkerKey = (kind: HelpMarkerKind, request: number) => `${HELP_MARKER_PREFIXES[kind]}${request}`;
/** What the key of every "help requested" marker, and of no other message, starts with. */
export const HELP_REQUESTED_KEY_PREFIX = HELP_MARKER_PREFIXES.help;

@Schema({ collection: 'messages', versionKey: false })
export class MessageDoc {
  @Prop({ type: String, required: true }) _id!: string;
  @Prop({ required: true }) sessionId!: string;
  @Prop({ required: true }) seq!: number;
  /**
   * Always present, unique per session: `c:<clientMessageId>` for user messages, so resends store one
   * copy; `r:<replyTo>:<attempt>` for AI replies, so whoever stores an answer first is the only one
   * (the fence that holds even on a server without atomic conditional updates); `s:<id>` otherwise.
   */
  @Prop({ required: true }) clientKey!: string;
  @Prop({ type: String, required: true, enum: ['user', 'ai', 'admin', 'system'] }) sender!: Sender;
  @Prop({ type: String }) senderId?: string;
  @Prop({ type: String }) senderName?: string;
  /** Encrypted. */
  @Prop({ required: true }) content!: string;
  @Prop({ type: String, required: true, enum: ['complete', 'stopped', 'interrupted', 'failed'] })
  status!: MessageStatus;
  @Prop({ type: String }) model?: string;
  @Prop({ type: String }) finishReason?: string;
  @Prop({ type: Object }) usage?: { promptTokens: number; completionTokens: number; estimated: boolean };
  @Prop({ type: Object }) latency?: { firstDeltaMs?: number; totalMs: number };
  /** Files the message carries (metadata, not encrypted; never URLs). */
  @Prop({ type: [Object] }) files?: { id: string; name: string; type: string; size: number }[];
  /** Voice notes' transcripts by file id, each written once (`text` encrypted like `content`). */
  @Prop({ type: Object }) transcripts?: Record<string, StoredTranscript>;
  @Prop({ required: true }) createdAt!: Date;
  /**
   * User messages only: false until an AI turn has answered it. Kept per message, not as a seq
   * high-water mark: concurrent sends can become visible out of seq order, and none may be skipped.
   */
  @Prop({ type: Boolean }) answered?: boolean;
  /** User messages only: how many replies to it were interrupted (the next one is stored under this attempt). */
  @Prop({ type: Number }) attempt?: number;
  /** AI replies: the user message answered, and its seq (for conversation order without a lookup). */
  @Prop({ type: String }) replyTo?: string;
  @Prop({ type: Number }) replyToSeq?: number;
  /** AI replies: the turn that stored it (the one that streamed it, or the one that settled it after a crash). */
  @Prop({ type: String }) turnId?: string;
  /** AI replies that did not end well: what `ai:error` says. */
  @Prop({ type: Object }) error?: { code: string; message: string };
}

export const MessageSchema = SchemaFactory.createForClass(MessageDoc);
MessageSchema.index({ sessionId: 1, seq: 1 }, { unique: true });
MessageSchema.index({ sessionId: 1, clientKey: 1 }, { unique: true });
MessageSchema.index({ sessionId: 1, answered: 1, seq: 1 });
// The usage figures read every message of a time range (GET /admin/metrics).
MessageSchema.index({ createdAt: 1 });
// And a user's: the messages of each of their sessions in the range (GET /admin/users/:userId/usage).
MessageSchema.index({ sessionId: 1, createdAt: 1 });
