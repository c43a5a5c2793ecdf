import type { AiDelta, AiStart, MessageView, ResumeResult } from '../lib/protocol';

/** A reply being generated, not stored yet: its text so far, up to frame `index`. */
export interface StreamingReply {
  messageId: string;
  replyTo: string;
  text: string;
  index: number;
  /** False when the replica could not tell what was said before we joined: the stored reply will show it. */
  known: boolean;
  /** `ai:end` or `ai:error` came; the stored reply is being read. */
  ended: boolean;
  /** Seen streaming (`ai:start`, or a frame placed), not only named by a resume's `inFlight`. */
  live: boolean;
}

/** A message this device sent whose stored copy has not arrived yet. */
export interface PendingMessage {
  clientMessageId: string;
  content: string;
  /** The names of the files it carries, shown while it is sent, and their ids, which tell it from another. */
  files?: readonly { id: string; name: string }[];
  messageId?: string;
}

/** The same words and the same files: a stored message that may be this device's pending one. */
const sameMessage = (p: PendingMessage, m: MessageView) =>
  p.content === m.content && sameIds(p.files?.map((f) => f.id) ?? [], m.files?.map((f) => f.id) ?? []);
const sameIds = (a: string[], b: string[]) => a.length === b.length && a.every((id, i) => id === b[i]);

/**
 * What the chat page shows of one session. Every message appears once: stored messages by `id` in `seq`
 * order (the stored copy always wins), then replies still streaming, then this device's unsent messages.
 * Frames that arrive before the point they continue from are kept until it is known (the resume rule of
 * docs/protocol.md); duplicates and frames of stored replies are dropped.
 */
export interface Transcript {
  sessionId: string | null;
  messages: readonly MessageView[];
  streaming: readonly StreamingReply[];
  pending: readonly PendingMessage[];
  /** Frames not yet placed, by reply id then frame index. */
  early: Readonly<Record<string, Readonly<Record<number, string>>>>;
  hasOlder: boolean;
}

export const emptyTranscript = (sessionId: string | null = null): Transcript => ({
  sessionId,
  messages: [],
  streaming: [],
  pending: [],
  early: {},
  hasOlder: false,
});

/** The newest stored seq, from which a catch-up reads on (`session:resume` with `afterSeq`). */
export const lastSeq = (t: Transcript) => (t.messages.length > 0 ? t.messages[t.messages.length - 1].seq : 0);

/** The oldest stored seq, before which older pages are read. */
export const firstSeq = (t: Transcript) => (t.messages.length > 0 ? t.messages[0].seq : undefined);

/** Stored messages join the transcript, replacing anything shown for them. */
export function mergeMessages(t: Transcript, incoming: readonly MessageView[]): Transcript {
  const mine = incoming.filter((m) => m.sessionId === t.sessionId);
  if (mine.length === 0) return t;
  const byId = new Map(t.messages.map((m) => [m.id, m]));
  for (const message of mine) byId.set(message.id, message);
  const messages = [...byId.values()].sort((a, b) => a.seq - b.seq);
  const stored = new Set(byId.keys());
  let pending = t.pending.filter((p) => !(p.messageId && stored.has(p.messageId)));
  for (const message of mine.filter((m) => m.sender === 'user')) {
    const match = pending.findIndex((p) => !p.messageId && sameMessage(p, message));
    if (match >= 0) pending = pending.filter((_, i) => i !== match);
  }
  const early = { ...t.early };
  for (const id of Object.keys(early)) if (stored.has(id)) delete early[id];
  // A turn the server named in flight that never streamed, for a message a stored reply has answered (the
  // engine holds a turn briefly while it finds nothing owed), is no reply at all. An interrupted reply is
  // answered again, so it does not count as the answer.
  const answered = answeredMessages(messages);
  const streaming = t.streaming.filter(
    (s) => !stored.has(s.messageId) && (s.live || s.text !== '' || !answered.has(s.replyTo)),
  );
  return { ...t, messages, pending, early, streaming };
}

/** The messages a stored reply has answered (an interrupted reply is answered again, so it does not count). */
function answeredMessages(messages: readonly MessageView[]): Set<string | undefined> {
  return new Set(messages.filter((m) => m.sender === 'ai' && m.status !== 'interrupted').map((m) => m.replyTo));
}

/** Places whatever early frames now continue a streaming reply, in index order. */
function drain(t: Transcript, messageId: string): Transcript {
  const frames = t.early[messageId];
  const reply = t.streaming.find((s) => s.messageId === messageId);
  if (!frames || !reply || !reply.known) return t;
  let { text, index } = reply;
  const rest: Record<number, string> = {};
  for (const [key, value] of Object.entries(frames)) if (Number(key) > index) rest[Number(key)] = value;
  while (rest[index + 1] !== undefined) {
    text += rest[index + 1];
    delete rest[index + 1];
    index += 1;
  }
  const early = { ...t.early };
  if (Object.keys(rest).length > 0) early[messageId] = rest;
  else delete early[messageId];
  const placed = index !== reply.index;
  return {
    ...t,
    early,
    streaming: t.streaming.map((s) => (s.messageId === messageId ? { ...s, text, index, live: s.live || placed } : s)),
  };
}

const isStored = (t: Transcript, messageId: string) => t.messages.some((m) => m.id === messageId);

/** A resume or watch result: its messages, and the reply in flight with what it said so far. */
export function applyResume(t: Transcript, result: ResumeResult, { newest }: { newest: boolean }): Transcript {
  let next = result.session.id === t.sessionId ? t : emptyTranscript(result.session.id);
  next = mergeMessages(next, result.messages);
  if (newest) next = { ...next, hasOlder: result.hasMore };
  const flight = result.inFlight;
  if (!flight || isStored(next, flight.messageId)) return next;
  const current = next.streaming.find((s) => s.messageId === flight.messageId);
  // See mergeMessages: a turn that has said nothing, for a message already answered, is no reply.
  if (!current?.live && !flight.text && answeredMessages(next.messages).has(flight.replyTo)) return next;
  const known = flight.text !== null;
  const base: StreamingReply = {
    messageId: flight.messageId,
    replyTo: flight.replyTo,
    text: flight.text ?? '',
    index: flight.index ?? -1,
    known,
    ended: false,
    live: false,
  };
  if (current && current.known && current.index >= base.index) return next;
  const streaming = current
    ? next.streaming.map((s) => (s.messageId === flight.messageId ? { ...base, ended: s.ended, live: s.live } : s))
    : [...next.streaming, base];
  return drain({ ...next, streaming }, flight.messageId);
}

export function aiStart(t: Transcript, event: AiStart): Transcript {
  if (event.sessionId !== t.sessionId || isStored(t, event.messageId)) return t;
  const current = t.streaming.find((s) => s.messageId === event.messageId);
  if (current?.known) return t;
  // The reply begins: nothing was said before this, so a turn a resume named in flight before it streamed
  // (what it had said unknown) is known from here, and its frames are placed instead of dropped.
  const reply: StreamingReply = {
    messageId: event.messageId,
    replyTo: event.replyTo,
    text: '',
    index: -1,
    known: true,
    ended: current?.ended ?? false,
    live: true,
  };
  const streaming = current
    ? t.streaming.map((s) => (s.messageId === event.messageId ? reply : s))
    : [...t.streaming, reply];
  return drain({ ...t, streaming }, event.messageId);
}

export function aiDelta(t: Transcript, event: AiDelta): Transcript {
  if (event.sessionId !== t.sessionId || isStored(t, event.messageId)) return t;
  const reply = t.streaming.find((s) => s.messageId === event.messageId);
  if (reply && (!reply.known || event.index <= reply.index)) return t;
  const frames = { ...t.early[event.messageId], [event.index]: event.text };
  return drain({ ...t, early: { ...t.early, [event.messageId]: frames } }, event.messageId);
}

/** `ai:end` or `ai:error`: the reply stops growing; its stored copy, if any, replaces it when read. */
export function aiFinished(t: Transcript, messageId: string, stored: boolean): Transcript {
  if (!stored) {
    const early = { ...t.early };
    delete early[messageId];
    return { ...t, early, streaming: t.streaming.filter((s) => s.messageId !== messageId) };
  }
  return { ...t, streaming: t.streaming.map((s) => (s.messageId === messageId ? { ...s, ended: true } : s)) };
}

/** An older page (read backwards) joins the top. */
export function prependOlder(t: Transcript, messages: readonly MessageView[], hasMore: boolean): Transcript {
  return { ...mergeMessages(t, messages), hasOlder: hasMore };
}

export function addPending(t: Transcript, pending: PendingMessage): Transcript {
  return { ...t, pending: [...t.pending, pending] };
}

/** The server acknowledged a sent message: it is shown pending until its stored copy arrives. */
export function settlePending(t: Transcript, clientMessageId: string, messageId: string): Transcript {
  if (isStored(t, messageId) || !t.pending.some((p) => p.clientMessageId === clientMessageId)) {
    return { ...t, pending: t.pending.filter((p) => p.clientMessageId !== clientMessageId) };
  }
  return { ...t, pending: t.pending.map((p) => (p.clientMessageId === clientMessageId ? { ...p, messageId } : p)) };
}

export function dropPending(t: Transcript, clientMessageId: string): Transcript {
  return { ...t, pending: t.pending.filter((p) => p.clientMessageId !== clientMessageId) };
}

/** Whether a reply is being generated and can be stopped. */
export const isGenerating = (t: Transcript) => t.streaming.some((s) => !s.ended);
