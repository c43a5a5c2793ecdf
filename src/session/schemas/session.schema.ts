import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

export type SessionStatus = 'active' | 'ended';

/** Who answers a session's user messages: the AI, or the admin who took it over (`admin:<id>`). */
export type SessionOwner = 'ai' | `admin:${string}`;

/** Who asked for a human: the user, or the AI model on the user's behalf. */
export type HelpSource = 'user' | 'ai';

/** A session's latest request for a human, open until an admin takes the session or the user cancels it. */
export interface HelpRequest {
  requestedAt: Date;
  source: HelpSource;
  /** The user's id, or the model's for a request the AI raised. */
  requestedBy: string;
  /** Encrypted. */
  reason?: string;
  closedAt?: Date;
  /** `user` (cancelled), or `admin:<id>` (taken). */
  closedBy?: string;
}

/** The administrator holding a session, while one does. */
export interface AdminHold {
  adminId: string;
  adminName?: string;
  since: Date;
  /** Refreshed while any of the administrator's sockets is connected, on any replica. */
  seenAt: Date;
  /** The administrator's latest message here (the takeover until the first). */
  wroteAt: Date;
}

/** The shape of the fields below that sessions of an earlier version lack until upgraded at boot. */
export const SESSION_FIELDS_VERSION = 1;

@Schema({ collection: 'chat_sessions', versionKey: false })
export class SessionDoc {
  @Prop({ type: String, required: true }) _id!: string;
  @Prop({ required: true }) userId!: string;
  @Prop({ type: String }) userName?: string;
  /** Encrypted; absent until the first user message names the session. */
  @Prop({ type: String }) name?: string;
  /** The name's blind index (see SessionNameIndex): prefix search without decrypting; empty until named. */
  @Prop({ type: [String], required: true, default: [] }) nameIndex!: string[];
  /** SESSION_FIELDS_VERSION once `totalTokens`, `durationMs` and `nameIndex` are kept (see the upgrade at boot). */
  @Prop({ required: true }) fieldsVersion!: number;
  @Prop({ type: String, required: true, enum: ['active', 'ended'] }) status!: SessionStatus;
  /**
   * The user id while active, `ended:<id>` once ended: unique, so a user has at most one active
   * session, enforced by the database (a field every document has, since FerretDB has no partial indexes).
   */
  @Prop({ required: true }) activeKey!: string;
  @Prop({ required: true }) modelId!: string;
  @Prop({ type: String, required: true, default: 'ai' }) owner!: SessionOwner;
  /** Grows on every change of owner; a turn that began under an older epoch may not run on. */
  @Prop({ required: true, default: 0 }) epoch!: number;
  /** The administrator holding the session; null while the AI owns it. */
  @Prop({ type: Object, default: null }) hold?: AdminHold | null;
  @Prop({ required: true }) startedAt!: Date;
  @Prop({ required: true }) lastActivityAt!: Date;
  /** Refreshed while a device is connected; the sweeper ends sessions unseen for the reconnect window. */
  @Prop({ required: true }) lastSeenAt!: Date;
  @Prop({ type: Date }) endedAt?: Date;
  /** From start to end; 0 while the session is active (always present, so sorting on it uses its index). */
  @Prop({ required: true, default: 0 }) durationMs!: number;
  @Prop({ required: true, default: 0 }) messageCount!: number;
  @Prop({ required: true, default: 0 }) lastSeq!: number;
  @Prop({ type: Date }) lastMessageAt?: Date;
  @Prop({ type: Object, default: () => ({ prompt: 0, completion: 0 }) }) tokens!: {
    prompt: number;
    completion: number;
  };
  /** `tokens.prompt + tokens.completion`, kept with them, so administrators can sort on it. */
  @Prop({ required: true, default: 0 }) totalTokens!: number;
  /** Time to the first delta of each AI reply. */
  @Prop({ type: Object, default: () => ({ count: 0, sumMs: 0, maxMs: 0 }) })
  responseTime!: { count: number; sumMs: number; maxMs: number };
  /** Whole duration of each AI reply. */
  @Prop({ type: Object, default: () => ({ count: 0, sumMs: 0, maxMs: 0 }) })
  turnTime!: { count: number; sumMs: number; maxMs: number };
  @Prop({ required: true, default: false }) assisted!: boolean;
  /** Grows with every change admins are told of (end, help, owner): of two views, the higher is newer. */
  @Prop({ required: true, default: 0 }) rev!: number;
  /** Whether a help request is open: always present, so admins can filter on it on any server. */
  @Prop({ required: true, default: false }) helpOpen!: boolean;
  /** How many help requests the session has had; numbers each one's transcript markers. */
  @Prop({ required: true, default: 0 }) helpRequests!: number;
  /**
   * The AI asked for a human and no administrator has answered since: the model is not offered the
   * `request_human` tool again, so one session cannot loop on it.
   */
  @Prop({ required: true, default: false }) aiHelpAsked!: boolean;
  /** The latest help request, open or closed. */
  @Prop({ type: Object }) help?: HelpRequest;
  /** A conversation the provider keeps itself (Dify's conversation_id). */
  @Prop({ type: String }) providerConversationId?: string;
}

export const SessionSchema = SchemaFactory.createForClass(SessionDoc);
SessionSchema.index({ activeKey: 1 }, { unique: true });
SessionSchema.index({ userId: 1, lastActivityAt: -1, _id: -1 });
SessionSchema.index({ status: 1, lastSeenAt: 1 });
SessionSchema.index({ endedAt: 1 });
SessionSchema.index({ nameIndex: 1 });
// The boot upgrade looks for sessions of another version (see outdatedSortFields): none read once all are upgraded.
SessionSchema.index({ fieldsVersion: 1 });
/**
 * The administrators' list sorts on one of these, `_id` breaking ties (the cursor's second key); every
 * filter combination it offers can be served by walking the sort's index, so none needs a collection scan.
 */
export const ADMIN_SORTS = [
  'startedAt',
  'lastActivityAt',
  'durationMs',
  'userId',
  'messageCount',
  'totalTokens',
] as const;
export type AdminSort = (typeof ADMIN_SORTS)[number];
for (const field of ADMIN_SORTS) SessionSchema.index({ [field]: 1, _id: 1 });
SessionSchema.index({ status: 1, helpOpen: -1, lastActivityAt: -1, _id: 1 });
SessionSchema.index({ owner: 1, status: 1 });
