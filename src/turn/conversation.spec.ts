import { MessageView } from '../session/session-views';
import { attachmentsOf, conversationBefore, MAX_VIEWED_IMAGE_BYTES } from './conversation';

let seq = 0;
const message = (sender: MessageView['sender'], content: string, extra: Partial<MessageView> = {}): MessageView => {
  seq += 1;
  return {
    id: `m${seq}`,
    seq,
    sessionId: 's',
    sender,
    content,
    files: [],
    createdAt: '',
    status: 'complete',
    ...extra,
  };
};
const reply = (to: MessageView, content: string, extra: Partial<MessageView> = {}) =>
  message('ai', content, { replyTo: to.id, replyToSeq: to.seq, ...extra });
const said = (history: { sender: string; content: string }[]) => history.map((m) => `${m.sender}:${m.content}`);

describe(conversationBefore.name, () => {
  beforeEach(() => (seq = 0));

  it("keeps a message's files as attachments (an image's file id for its bytes), even with no text", () => {
    const photo = message('user', '', { files: [{ id: 'f1', name: 'cat.png', type: 'image/png', size: 10 }] });
    const report = message('user', 'see this', {
      files: [{ id: 'f2', name: 'report.pdf', type: 'application/pdf', size: 2048 }],
    });
    const current = message('user', 'and now?');

    expect(conversationBefore([photo, report, current], current)).toEqual([
      {
        sender: 'user',
        content: '',
        senderName: undefined,
        attachments: [{ kind: 'image', name: 'cat.png', mimeType: 'image/png', fileId: 'f1' }],
      },
      {
        sender: 'user',
        content: 'see this',
        senderName: undefined,
        attachments: [{ kind: 'file', name: 'report.pdf', mimeType: 'application/pdf', size: 2048 }],
      },
    ]);
  });

  it("keeps a voice note's stored transcript (or why it has none), even with no text", () => {
    const audio = { name: 'memo.ogg', type: 'audio/ogg', size: 10 };
    const spoken = message('user', '', {
      files: [
        { id: 'f1', ...audio, transcript: { status: 'done', text: 'hello there' } },
        { id: 'f2', ...audio, transcript: { status: 'failed' } },
        { id: 'f3', ...audio },
      ],
    });
    const current = message('user', 'and now?');
    expect(conversationBefore([spoken, current], current)[0].attachments).toEqual([
      { kind: 'voice', name: 'memo.ogg', mimeType: 'audio/ogg', transcript: { status: 'done', text: 'hello there' } },
      { kind: 'voice', name: 'memo.ogg', mimeType: 'audio/ogg', transcript: { status: 'failed' } },
      { kind: 'voice', name: 'memo.ogg', mimeType: 'audio/ogg' },
    ]);
  });

  it('puts each reply right after the message it answers, though it was stored after later messages', () => {
    const a = message('user', 'a');
    const b = message('user', 'b');
    const c = message('user', 'c');
    const toA = reply(a, 'reply a');
    const toB = reply(b, 'reply b');
    // Stored order: a, b, c, reply a, reply b. The prompt for c: the conversation before it.
    expect(said(conversationBefore([toB, toA, c, b, a], c))).toEqual(['user:a', 'ai:reply a', 'user:b', 'ai:reply b']);
  });

  it('never holds anything said after the message, nor a reply to a later one', () => {
    const a = message('user', 'a');
    const b = message('user', 'b');
    const c = message('user', 'c');
    const toA = reply(a, 'reply a');
    const toC = reply(c, 'reply c');
    expect(said(conversationBefore([a, b, c, toA, toC], b))).toEqual(['user:a', 'ai:reply a']);
  });

  it('keeps administrators where they spoke, and the latest of several replies to one message', () => {
    const a = message('user', 'a');
    const cut = reply(a, 'cut sh', { status: 'interrupted', finishReason: 'replica_lost' });
    const again = reply(a, 'the full answer');
    const admin = message('admin', 'a human here');
    const b = message('user', 'b');
    expect(said(conversationBefore([a, cut, again, admin, b], b))).toEqual([
      'user:a',
      'ai:the full answer',
      'admin:a human here',
    ]);
  });

  it('leaves out unreadable, empty and system messages, and replies to messages it cannot show', () => {
    const lost = message('user', '', { status: 'unreadable' });
    const toLost = reply(lost, 'an answer to nothing shown');
    const empty = message('ai', '', { status: 'failed' });
    const note = message('system', 'help requested');
    const a = message('user', 'a');
    const b = message('user', 'b');
    expect(said(conversationBefore([lost, toLost, empty, note, a, b], b))).toEqual(['user:a']);
  });
});

describe(attachmentsOf.name, () => {
  it('offers a model only the images it can view: a type the vendors take, within the size they take', () => {
    const image = (id: string, type: string, size: number) => ({ id, name: `${id}.img`, type, size });
    const ids = attachmentsOf([
      image('png', 'image/png', MAX_VIEWED_IMAGE_BYTES),
      image('webp', 'image/webp', 10),
      image('heic', 'image/heic', 10),
      image('avif', 'image/avif', 10),
      image('huge', 'image/jpeg', MAX_VIEWED_IMAGE_BYTES + 1),
    ]).map((a) => (a.kind === 'image' ? (a.fileId ?? `${a.mimeType} noted`) : a.kind));

    expect(ids).toEqual(['png', 'webp', 'image/heic noted', 'image/avif noted', 'image/jpeg noted']);
  });
});
