import type { MessageView, ResumeResult, SessionView } from '../lib/protocol';
import {
  addPending,
  aiDelta,
  aiFinished,
  aiStart,
  applyResume,
  emptyTranscript,
  isGenerating,
  lastSeq,
  mergeMessages,
  prependOlder,
  settlePending,
} from './transcript';

const S = 'session-1';
const session = { id: S } as SessionView;
const message = (seq: number, sender: MessageView['sender'] = 'user', content = `m${seq}`): MessageView => ({
  id: `id-${seq}`,
  seq,
  sessionId: S,
  sender,
  content,
  createdAt: '2026-12-01T00:00:00.000Z',
  status: 'complete',
});
const resume = (over: Partial<ResumeResult>): ResumeResult => ({
  session,
  messages: [],
  hasMore: false,
  inFlight: null,
  ...over,
});
const delta = (index: number, text: string, messageId = 'r1') => ({ sessionId: S, messageId, index, text });

describe('transcript', () => {
  it('shows each stored message once, in seq order, the later copy winning', () => {
    let t = emptyTranscript(S);
    t = mergeMessages(t, [message(2), message(1)]);
    t = mergeMessages(t, [{ ...message(2), content: 'edited' }, message(3)]);
    expect(t.messages.map((m) => [m.seq, m.content])).toEqual([
      [1, 'm1'],
      [2, 'edited'],
      [3, 'm3'],
    ]);
    expect(lastSeq(t)).toBe(3);
  });

  it('ignores messages of another session', () => {
    const t = mergeMessages(emptyTranscript(S), [{ ...message(1), sessionId: 'other' }]);
    expect(t.messages).toEqual([]);
  });

  it('appends frames in index order, keeps early ones and drops duplicates', () => {
    let t = aiStart(emptyTranscript(S), { sessionId: S, messageId: 'r1', replyTo: 'id-1' });
    t = aiDelta(t, delta(1, 'B'));
    expect(t.streaming[0].text).toBe('');
    t = aiDelta(t, delta(0, 'A'));
    t = aiDelta(t, delta(0, 'A'));
    t = aiDelta(t, delta(2, 'C'));
    expect(t.streaming[0]).toMatchObject({ text: 'ABC', index: 2 });
    expect(isGenerating(t)).toBe(true);
  });

  it('continues a resumed reply from its in-flight text with frames that came before the answer', () => {
    let t = emptyTranscript(S);
    t = aiDelta(t, delta(3, 'd'));
    t = aiDelta(t, delta(2, 'c'));
    t = applyResume(
      t,
      resume({ messages: [message(1)], inFlight: { messageId: 'r1', replyTo: 'id-1', index: 2, text: 'abc' } }),
      {
        newest: true,
      },
    );
    expect(t.streaming[0]).toMatchObject({ text: 'abcd', index: 3, known: true });
    expect(t.early).toEqual({});
  });

  it('waits for the stored reply when the replica could not tell what was said', () => {
    let t = applyResume(
      emptyTranscript(S),
      resume({ inFlight: { messageId: 'r1', replyTo: 'x', index: null, text: null } }),
      {
        newest: true,
      },
    );
    t = aiDelta(t, delta(5, 'tail'));
    expect(t.streaming[0]).toMatchObject({ known: false, text: '' });
    t = mergeMessages(aiFinished(t, 'r1', true), [{ ...message(2, 'ai', 'whole reply'), id: 'r1' }]);
    expect(t.streaming).toEqual([]);
    expect(t.messages.map((m) => m.content)).toEqual(['whole reply']);
  });

  it('replaces a streamed reply by its stored copy and ignores its late frames', () => {
    let t = aiStart(emptyTranscript(S), { sessionId: S, messageId: 'r1', replyTo: 'id-1' });
    t = aiDelta(t, delta(0, 'partial'));
    t = aiFinished(t, 'r1', true);
    expect(isGenerating(t)).toBe(false);
    t = mergeMessages(t, [{ ...message(2, 'ai', 'final'), id: 'r1' }]);
    t = aiDelta(t, delta(1, 'late'));
    t = aiStart(t, { sessionId: S, messageId: 'r1', replyTo: 'id-1' });
    expect(t.streaming).toEqual([]);
    expect(t.messages.map((m) => m.content)).toEqual(['final']);
  });

  it('streams a reply a resume named in flight before it began (what it said unknown) once its ai:start comes', () => {
    let t = mergeMessages(emptyTranscript(S), [message(1)]);
    t = applyResume(t, resume({ inFlight: { messageId: 'r1', replyTo: 'id-1', index: null, text: null } }), {
      newest: false,
    });
    t = aiStart(t, { sessionId: S, messageId: 'r1', replyTo: 'id-1' });
    t = aiDelta(t, delta(0, 'Hello'));
    t = aiDelta(t, delta(1, ' world'));
    expect(t.streaming.map((s) => [s.messageId, s.text, s.index, s.live])).toEqual([['r1', 'Hello world', 1, true]]);
  });

  it('drops a turn named in flight that never streamed once a stored reply answers its message', () => {
    const inFlight = (messageId: string) => ({ messageId, replyTo: 'id-1', index: null, text: null });
    let t = mergeMessages(emptyTranscript(S), [message(1)]);
    t = applyResume(t, resume({ inFlight: inFlight('phantom') }), { newest: false });
    expect(isGenerating(t)).toBe(true);
    t = mergeMessages(t, [{ ...message(2, 'ai', 'the answer'), id: 'r1', replyTo: 'id-1' }]);
    expect(t.streaming).toEqual([]);
    // Named only after the answer is stored, it is not shown at all.
    t = applyResume(t, resume({ inFlight: inFlight('phantom-2') }), { newest: false });
    expect(t.streaming).toEqual([]);
    // After an interrupted reply the message is answered again: that turn stays.
    let again = mergeMessages(emptyTranscript(S), [message(1)]);
    again = applyResume(again, resume({ inFlight: inFlight('second') }), { newest: false });
    again = mergeMessages(again, [{ ...message(2, 'ai', 'cut'), id: 'r1', replyTo: 'id-1', status: 'interrupted' }]);
    expect(again.streaming.map((s) => s.messageId)).toEqual(['second']);
    // A reply seen streaming is never dropped this way.
    let live = aiStart(mergeMessages(emptyTranscript(S), [message(1)]), {
      sessionId: S,
      messageId: 'r2',
      replyTo: 'id-1',
    });
    live = mergeMessages(live, [{ ...message(2, 'ai', 'older answer'), id: 'r1', replyTo: 'id-1' }]);
    expect(live.streaming.map((s) => s.messageId)).toEqual(['r2']);
  });

  it('drops a reply that failed with nothing stored', () => {
    let t = aiStart(emptyTranscript(S), { sessionId: S, messageId: 'r1', replyTo: 'id-1' });
    t = aiFinished(t, 'r1', false);
    expect(t.streaming).toEqual([]);
  });

  it('keeps a resumed reply that is further along than the resume answer', () => {
    let t = aiStart(emptyTranscript(S), { sessionId: S, messageId: 'r1', replyTo: 'id-1' });
    t = aiDelta(aiDelta(t, delta(0, 'a')), delta(1, 'b'));
    t = applyResume(t, resume({ inFlight: { messageId: 'r1', replyTo: 'id-1', index: 0, text: 'a' } }), {
      newest: false,
    });
    expect(t.streaming[0].text).toBe('ab');
  });

  it('starts afresh when the resume is of another session', () => {
    const t = applyResume(
      mergeMessages(emptyTranscript(S), [message(1)]),
      resume({ session: { id: 'other' } as SessionView }),
      {
        newest: true,
      },
    );
    expect(t).toMatchObject({ sessionId: 'other', messages: [] });
  });

  it('shows a sent message pending until its stored copy comes, by id after the ack or by content before', () => {
    let t = addPending(emptyTranscript(S), { clientMessageId: 'c1', content: 'hello' });
    t = addPending(t, { clientMessageId: 'c2', content: 'again' });
    t = settlePending(t, 'c2', 'id-2');
    t = mergeMessages(t, [message(1, 'user', 'hello')]);
    expect(t.pending.map((p) => p.clientMessageId)).toEqual(['c2']);
    t = mergeMessages(t, [{ ...message(2, 'user', 'something else'), id: 'id-2' }]);
    expect(t.pending).toEqual([]);
    t = settlePending(addPending(t, { clientMessageId: 'c3', content: 'x' }), 'c3', 'id-1');
    expect(t.pending).toEqual([]);
  });

  it('tells files sent alone apart by their files: another stored message with no words leaves this one pending', () => {
    const voice = (id: string) => ({ id, name: `${id}.webm`, type: 'audio/webm', size: 9 });
    let t = addPending(emptyTranscript(S), { clientMessageId: 'c1', content: '', files: [voice('f2')] });
    // An earlier voice note, stored (and sent again with its transcript): not this one.
    t = mergeMessages(t, [{ ...message(1, 'user', ''), files: [voice('f1')] }]);
    expect(t.pending.map((p) => p.clientMessageId)).toEqual(['c1']);
    t = mergeMessages(t, [{ ...message(2, 'user', ''), id: 'id-2', files: [voice('f2')] }]);
    expect(t.pending).toEqual([]);
  });

  it('pages older messages in at the top and says whether more exist', () => {
    let t = applyResume(emptyTranscript(S), resume({ messages: [message(3)], hasMore: true }), { newest: true });
    expect(t.hasOlder).toBe(true);
    t = prependOlder(t, [message(1), message(2)], false);
    expect(t.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(t.hasOlder).toBe(false);
  });
});
