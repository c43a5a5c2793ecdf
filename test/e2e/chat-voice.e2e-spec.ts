import { randomUUID } from 'node:crypto';
import { FakeLlmServer, Scenario, transcriptionModel } from '../servers/fake-llm-server';
import { AdminClient } from '../utils/admin-client';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { uploadFile } from '../utils/uploads';

/** A valid 8 kHz mono 16-bit PCM WAV, its samples not valid UTF-8: only the exact bytes compare equal. */
function wav(): Buffer {
  const samples = Buffer.from([0xff, 0xfe, 0x80, 0x00, 0x7f, 0x81, 0xc3, 0x28, 0x00, 0x10, 0xf0, 0x90]);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + samples.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(16000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(samples.length, 40);
  return Buffer.concat([header, samples]);
}
const AUDIO = wav();

interface FileView {
  id: string;
  name: string;
  type: string;
  transcript?: { status: string; text?: string };
}
interface MessageView {
  id: string;
  sender: string;
  content: string;
  files: FileView[];
}
interface ChatRequest {
  messages: { role: string; content: unknown }[];
}

const userTexts = (request: ChatRequest) =>
  request.messages.filter((m) => m.role === 'user').map((m) => (typeof m.content === 'string' ? m.content : ''));

/**
 * Voice notes through the real upload, turn and LLM layer: the fake vendor server transcribes them and
 * answers, and records what it was sent.
 */
describe('voice notes', () => {
  const fake = new FakeLlmServer();
  const chatModel = () => ({
    id: 'chat',
    provider: 'openai',
    model: 'chat-fake',
    baseUrl: `${fake.baseUrl}/v1`,
    apiKey: 'k',
  });

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());

  /** A user with a session on `app`, a voice note uploaded, and what was sent and stored for it. */
  async function sendVoiceNote(
    t: TestApp,
    content: string,
    transcription: Scenario[] = [],
    beforeSend: (sessionId: string) => Promise<unknown> = () => Promise.resolve(),
  ) {
    const token = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` });
    const upload = await uploadFile(t.baseUrl, token, AUDIO, 'voice-note.wav');
    expect(upload.body).toMatchObject({ type: 'audio/wav', name: 'voice-note.wav' });
    const client = await ChatClient.connect(t.baseUrl, token);
    const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
    await beforeSend(sessionId);
    fake.script('transcription', ...transcription);
    const before = { transcription: fake.of('transcription').length, chat: fake.of('openai').length };
    const { messageId } = await client.ok<{ messageId: string }>('message:send', {
      sessionId,
      clientMessageId: randomUUID(),
      content,
      fileIds: [upload.body.fileId],
    });
    const end = await client.waitForEvent('ai:end', (e) => e.replyTo === messageId);
    const chat = fake.of('openai').slice(before.chat);
    expect(chat).toHaveLength(1);
    const stored = async () => {
      const { messages } = await client.ok<{ messages: MessageView[] }>('session:resume', { sessionId });
      return messages.find((m) => m.id === messageId);
    };
    return {
      client,
      sessionId,
      messageId,
      end,
      transcriptions: () => fake.of('transcription').slice(before.transcription),
      chatRequest: chat[0].body as unknown as ChatRequest,
      stored,
      /** Every `message:new` of the voice note this device got, in order. */
      told: () => client.named('message:new').filter((m) => m.id === messageId) as unknown as MessageView[],
    };
  }

  describe('with a TRANSCRIPTION_MODEL', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({
        LLM_MODELS: JSON.stringify([chatModel(), transcriptionModel(fake)]),
        TRANSCRIPTION_MODEL: 'ears',
        LLM_MAX_RETRIES: '1',
        LLM_RETRY_BASE_MS: '10',
      });
    });
    afterAll(() => t?.close());

    it('transcribes the audio, stores and re-sends the transcript, and sends it to the model as the user words', async () => {
      const adminToken = await signToken(t.env.JWT_SECRET, { sub: `a-${randomUUID()}`, roles: ['admin'] });
      const admin = new AdminClient(t.baseUrl, adminToken);
      await admin.connected();
      const said = 'please call me back tomorrow';
      // A voice note alone: no typed text.
      const note = await sendVoiceNote(t, '', [{ kind: 'ok', text: said }], (sessionId) =>
        admin.ok('admin:watch', { sessionId }),
      );
      try {
        const transcriptions = note.transcriptions();
        expect(transcriptions).toHaveLength(1);
        expect(transcriptions[0].form).toEqual({
          fields: { model: 'whisper-fake' },
          files: { file: { name: 'voice-note.wav', type: 'audio/wav', data: AUDIO } },
        });

        expect(userTexts(note.chatRequest).at(-1)).toBe(`[Transcript of the voice note "voice-note.wav"] ${said}`);

        const transcript = { status: 'done', text: said };
        const stored = await note.stored();
        expect(stored).toMatchObject({
          content: '',
          files: [{ name: 'voice-note.wav', type: 'audio/wav', transcript }],
        });
        // Told twice: when stored, then with its transcript.
        const told = note.told();
        expect(told).toHaveLength(2);
        expect(told[0].files[0].transcript).toBeUndefined();
        expect(told[1].files[0].transcript).toEqual(transcript);

        // The administrator watching the session gets it too, live and when reading it.
        await admin.waitForEvent(
          'message:new',
          (m) => m.id === note.messageId && (m as unknown as MessageView).files[0].transcript !== undefined,
        );
        const watcherTold = admin
          .named('message:new')
          .filter((m) => m.id === note.messageId) as unknown as MessageView[];
        expect(watcherTold.map((m) => m.files[0].transcript)).toEqual([undefined, transcript]);
        const watched = await admin.ok<{ messages: MessageView[] }>('admin:watch', { sessionId: note.sessionId });
        expect(watched.messages.find((m) => m.id === note.messageId)?.files[0].transcript).toEqual(transcript);
      } finally {
        note.client.close();
        admin.close();
      }
    });

    it('sends the stored transcript again with later turns, without transcribing it again', async () => {
      const said = 'my order number is four two seven';
      const note = await sendVoiceNote(t, 'Here is my order', [{ kind: 'ok', text: said }]);
      try {
        const voiced = `Here is my order\n[Transcript of the voice note "voice-note.wav"] ${said}`;
        expect(userTexts(note.chatRequest).at(-1)).toBe(voiced);
        const before = fake.of('openai').length;
        const { messageId } = await note.client.ok<{ messageId: string }>('message:send', {
          sessionId: note.sessionId,
          clientMessageId: randomUUID(),
          content: 'What was my order number?',
        });
        await note.client.waitForEvent('ai:end', (e) => e.replyTo === messageId);
        const later = fake.of('openai').slice(before);
        expect(later).toHaveLength(1);
        expect(userTexts(later[0].body as unknown as ChatRequest)).toEqual([voiced, 'What was my order number?']);
        expect(note.transcriptions()).toHaveLength(1);
      } finally {
        note.client.close();
      }
    });

    it('stores a transcription that keeps failing as failed, and still answers', async () => {
      const refused: Scenario = { kind: 'status', status: 500 };
      const note = await sendVoiceNote(t, 'Can you hear me?', [refused, refused]);
      try {
        // The LLM layer's retry, then no more.
        expect(note.transcriptions()).toHaveLength(2);
        expect(note.end).toMatchObject({ finishReason: 'stop' });
        expect(userTexts(note.chatRequest).at(-1)).toBe(
          'Can you hear me?\n[Voice note "voice-note.wav": not transcribed — the transcription failed]',
        );
        const stored = await note.stored();
        expect(stored?.files[0].transcript).toEqual({ status: 'failed' });
        expect(note.told().at(-1)?.files[0].transcript).toEqual({ status: 'failed' });
        expect(stored?.content).toBe('Can you hear me?');
      } finally {
        note.client.close();
      }
    });
  });

  describe('without a TRANSCRIPTION_MODEL', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({ LLM_MODELS: JSON.stringify([chatModel()]) });
    });
    afterAll(() => t?.close());

    it('stores the voice note as not transcribed, tells the model so, and answers', async () => {
      const note = await sendVoiceNote(t, '');
      try {
        expect(note.transcriptions()).toHaveLength(0);
        expect(note.end).toMatchObject({ finishReason: 'stop' });
        expect(userTexts(note.chatRequest).at(-1)).toBe(
          '[Voice note "voice-note.wav": not transcribed — no transcription model is configured]',
        );
        expect((await note.stored())?.files[0].transcript).toEqual({ status: 'unavailable' });
        expect(note.told().at(-1)?.files[0].transcript).toEqual({ status: 'unavailable' });
      } finally {
        note.client.close();
      }
    });

    it('refuses blank text with files, and empty text without any', async () => {
      const token = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` });
      const { fileId } = (await uploadFile(t.baseUrl, token, AUDIO, 'voice-note.wav')).body;
      const client = await ChatClient.connect(t.baseUrl, token);
      try {
        const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
        const send = (content: string, fileIds?: string[]) =>
          client.call('message:send', {
            sessionId,
            clientMessageId: randomUUID(),
            content,
            ...(fileIds && { fileIds }),
          });
        for (const [content, fileIds] of [
          ['', undefined],
          ['', []],
          [' \u200b', [fileId]],
        ] as const) {
          expect(await send(content, fileIds && [...fileIds])).toMatchObject({
            ok: false,
            error: { code: 'invalid_payload' },
          });
        }
        const { messages } = await client.ok<{ messages: unknown[] }>('session:resume', { sessionId });
        expect(messages).toEqual([]);
      } finally {
        client.close();
      }
    });
  });
});
