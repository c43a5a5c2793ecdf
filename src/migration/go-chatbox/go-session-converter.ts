import { createHash } from 'node:crypto';
import { mongo } from 'mongoose';
import { ContentCipher } from '../../session/content-cipher';
import { MessageDoc, Sender } from '../../session/schemas/message.schema';
import { SESSION_FIELDS_VERSION, SessionDoc } from '../../session/schemas/session.schema';
import { ShareDoc } from '../../session/schemas/share.schema';
import { SessionNameIndex } from '../../session/session-name-index';
import { hashShareToken } from '../../session/share.service';
import { readGoContent } from './go-content';

/** A Go session, or one of its messages (by index in `msgs`), that was not imported, and why. */
export interface GoImportProblem {
  goSessionId: string;
  message?: number;
  reason: string;
}

export interface ConvertedSession {
  session: SessionDoc;
  /** In conversation order. */
  messages: MessageDoc[];
  share?: ShareDoc;
  /** The messages left out; the rest of the session is imported. */
  problems: GoImportProblem[];
}

export type Conversion = { ok: true; converted: ConvertedSession } | { ok: false; problem: GoImportProblem };

export interface ConversionContext {
  cipher: ContentCipher;
  nameIndex: SessionNameIndex;
  /** The Go service's key; absent when it ran without encryption. */
  goKey?: Buffer;
  /** When imported share links start their life. */
  now: Date;
  shareExpiryMs: number;
}

const SENDERS: readonly Sender[] = ['user', 'ai', 'admin', 'system'];
/** What the Go service recorded for a session nobody chose a model in (its constants.DefaultModel). */
const GO_DEFAULT_MODEL = 'gpt-4';
const MAX_USER_ID = 128;
/** MongoDB's maxBsonObjectSize; the driver refuses a document of this size or more. */
const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
// A fixed namespace, so every run derives the same ids (UUID v5) from the same Go ids.
const NAMESPACE = Buffer.from('6f1c3a529d0b4f4e8a572b1d0c9e7a31', 'hex');

/** The id the import gives to what `name` names: the same on every run, and a UUID as Chatbox's ids are. */
export function importedId(name: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const importedSessionId = (goSessionId: string) => importedId(`session:${goSessionId}`);
export const importedMessageId = (goSessionId: string, index: number) => importedId(`message:${goSessionId}:${index}`);

const isDate = (value: unknown): value is Date => value instanceof Date && !Number.isNaN(value.getTime());
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

type FieldType = 'string' | 'boolean' | 'number' | 'date';
const OPTIONAL_FIELDS: Record<string, FieldType> = {
  nm: 'string',
  modelId: 'string',
  endTs: 'date',
  lastActivity: 'date',
  adminAssisted: 'boolean',
  assistingAdminId: 'string',
  assistingAdminName: 'string',
  helpRequested: 'boolean',
  totalTokens: 'number',
  maxRespTime: 'number',
  avgRespTime: 'number',
  shareToken: 'string',
};

function hasType(value: unknown, type: FieldType): boolean {
  if (type === 'date') return isDate(value);
  if (type === 'number') return typeof value === 'number' && Number.isFinite(value) && value >= 0;
  return typeof value === type;
}

/** A link to a file as the Go service kept it; never its signed query string (the Go service kept that private too). */
function fileLine(fileUrl: unknown): string | undefined {
  if (typeof fileUrl !== 'string' || fileUrl === '') return undefined;
  const at = fileUrl.search(/[?#]/);
  return at < 0 ? fileUrl : fileUrl.slice(0, at);
}

/**
 * One document of the Go service's `sessions` collection as Chatbox's session, messages and share link.
 * Pure but for encryption (random IVs): every id and value is derived from the document, so a second
 * run writes nothing new. A message that cannot be read is left out and reported; the session keeps the
 * others, each at seq = its index + 1, so a message imported later (another key) fills its own gap.
 */
export function convertGoSession(raw: Record<string, unknown>, context: ConversionContext): Conversion {
  const goSessionId = raw._id;
  if (typeof goSessionId !== 'string' || goSessionId === '') {
    return { ok: false, problem: { goSessionId: String(goSessionId), reason: '_id is not a non-empty string' } };
  }
  const refuse = (reason: string): Conversion => ({ ok: false, problem: { goSessionId, reason } });
  const { uid, ts, msgs } = raw;
  if (typeof uid !== 'string' || uid === '' || uid.length > MAX_USER_ID) {
    return refuse(`uid is missing, not a string, or longer than ${MAX_USER_ID} characters`);
  }
  if (!isDate(ts)) return refuse('ts (the start time) is missing or not a date');
  if (msgs !== undefined && msgs !== null && !Array.isArray(msgs)) return refuse('msgs is not an array');
  for (const [field, type] of Object.entries(OPTIONAL_FIELDS)) {
    const value = raw[field];
    if (value !== undefined && value !== null && !hasType(value, type)) return refuse(`${field} is not a ${type}`);
  }
  const go = raw as {
    nm?: string;
    modelId?: string;
    endTs?: Date;
    lastActivity?: Date;
    adminAssisted?: boolean;
    assistingAdminId?: string;
    assistingAdminName?: string;
    helpRequested?: boolean;
    totalTokens?: number;
    maxRespTime?: number;
    avgRespTime?: number;
    shareToken?: string;
  };

  const sessionId = importedSessionId(goSessionId);
  const modelId = go.modelId || GO_DEFAULT_MODEL;
  const messages: MessageDoc[] = [];
  const problems: GoImportProblem[] = [];
  let lastUserMessage: MessageDoc | undefined;
  ((msgs ?? []) as unknown[]).forEach((message, index) => {
    const skip = (reason: string) => problems.push({ goSessionId, message: index, reason });
    if (!isRecord(message)) return skip('not a document');
    const { content, sender, ts: at, fileUrl } = message;
    if (!isDate(at)) return skip('ts is missing or not a date');
    if (!SENDERS.includes(sender as Sender))
      return skip(`sender ${JSON.stringify(sender)} is not user, ai, admin or system`);
    if (content !== undefined && typeof content !== 'string') return skip('content is not a string');
    const read = readGoContent(content ?? '', context.goKey);
    if (!read.ok) return skip(read.reason);
    const text = [read.text, fileLine(fileUrl)].filter((part) => part !== undefined && part !== '').join('\n');
    const id = importedMessageId(goSessionId, index);
    const record: MessageDoc = {
      _id: id,
      sessionId,
      seq: index + 1,
      clientKey: `s:${id}`,
      sender: sender as Sender,
      content: context.cipher.encrypt(text),
      status: 'complete',
      createdAt: at,
    };
    if (sender === 'user') {
      // Answered long ago (or never): no AI turn may pick an imported message up.
      Object.assign(record, { senderId: uid, answered: true, attempt: 0 });
    } else if (sender === 'ai') {
      record.model = modelId;
      if (lastUserMessage) Object.assign(record, { replyTo: lastUserMessage._id, replyToSeq: lastUserMessage.seq });
    } else if (sender === 'admin') {
      if (go.assistingAdminId) record.senderId = go.assistingAdminId;
      if (go.assistingAdminName) record.senderName = go.assistingAdminName;
    }
    // Plain text the Go service kept grows by a third once encrypted and in base64: a long one no longer fits
    // in a document, which the database would refuse on every run.
    if (mongo.BSON.calculateObjectSize(record) >= MAX_DOCUMENT_BYTES) {
      return skip('too long: encrypted, it is over the 16 MiB a MongoDB document may hold');
    }
    if (sender === 'user') lastUserMessage = record;
    messages.push(record);
  });

  const last = messages.at(-1);
  const lastActivityAt = latest(ts, go.lastActivity ?? last?.createdAt ?? ts);
  // A session the Go service still had open ended when it stopped: at its last activity.
  const endedAt = latest(ts, go.endTs ?? lastActivityAt);
  const aiReplies = messages.filter((m) => m.sender === 'ai').length;
  const totalTokens = Math.round(go.totalTokens ?? 0);
  // The Go service timed whole turns (request to end of stream): Chatbox's turn time, not its time to first token.
  const turnTime =
    go.avgRespTime && aiReplies > 0
      ? { count: aiReplies, sumMs: Math.round(go.avgRespTime * aiReplies), maxMs: Math.round(go.maxRespTime ?? 0) }
      : { count: 0, sumMs: 0, maxMs: 0 };
  const session: SessionDoc = {
    _id: sessionId,
    userId: uid,
    ...(go.nm ? { name: context.cipher.encrypt(go.nm) } : {}),
    nameIndex: go.nm ? context.nameIndex.entries(go.nm) : [],
    fieldsVersion: SESSION_FIELDS_VERSION,
    status: 'ended',
    activeKey: `ended:${sessionId}`,
    modelId,
    owner: 'ai',
    epoch: 0,
    hold: null,
    startedAt: ts,
    lastActivityAt,
    lastSeenAt: lastActivityAt,
    endedAt,
    durationMs: endedAt.getTime() - ts.getTime(),
    messageCount: messages.length,
    lastSeq: last?.seq ?? 0,
    ...(last ? { lastMessageAt: last.createdAt } : {}),
    tokens: { prompt: 0, completion: totalTokens },
    totalTokens,
    responseTime: { count: 0, sumMs: 0, maxMs: 0 },
    turnTime,
    assisted: go.adminAssisted === true,
    rev: 0,
    helpOpen: false,
    helpRequests: go.helpRequested ? 1 : 0,
    aiHelpAsked: false,
  };
  const share: ShareDoc | undefined = go.shareToken
    ? {
        _id: importedId(`share:${goSessionId}`),
        tokenHash: hashShareToken(go.shareToken),
        sessionId,
        userId: uid,
        createdAt: context.now,
        expiresAt: new Date(context.now.getTime() + context.shareExpiryMs),
      }
    : undefined;
  return { ok: true, converted: { session, messages, share, problems } };
}

const latest = (a: Date, b: Date) => (b.getTime() > a.getTime() ? b : a);
