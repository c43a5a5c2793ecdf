import { randomUUID } from 'node:crypto';
import { FakeLlmServer } from '../servers/fake-llm-server';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { PNG, uploadFile } from '../utils/uploads';

/** An image sent with a message, through the real upload and turn, as each kind of model receives it. */
describe('images in a conversation', () => {
  const fake = new FakeLlmServer();
  let t: TestApp;

  beforeAll(async () => {
    await fake.start();
    const model = (id: string, vision: boolean) => ({
      id,
      provider: 'openai',
      model: `${id}-fake`,
      baseUrl: `${fake.baseUrl}/v1`,
      apiKey: 'k',
      vision,
    });
    t = await startTestApp({ LLM_MODELS: JSON.stringify([model('seeing', true), model('blind', false)]) });
  });
  afterAll(async () => {
    await t?.close();
    await fake.stop();
  });

  /** Uploads a PNG and sends it with a question to `modelId`; the request the vendor received. */
  async function askAbout(modelId: string) {
    const token = await signToken(t.env.JWT_SECRET, { sub: `u-${randomUUID()}` });
    const { fileId } = (await uploadFile(t.baseUrl, token, PNG, 'chart.png')).body;
    const client = await ChatClient.connect(t.baseUrl, token);
    try {
      const { sessionId } = await client.ok<{ sessionId: string }>('session:start', { modelId });
      const before = fake.of('openai').length;
      await client.ok('message:send', {
        sessionId,
        clientMessageId: randomUUID(),
        content: 'What does this chart show?',
        fileIds: [fileId],
      });
      await client.waitForEvent('ai:end', (e) => e.sessionId === sessionId);
      const requests = fake.of('openai').slice(before);
      expect(requests).toHaveLength(1);
      const messages = requests[0].body.messages as { role: string; content: unknown }[];
      return messages[messages.length - 1];
    } finally {
      client.close();
    }
  }

  it("reaches a vision model as the vendor's image part, with the uploaded bytes", async () => {
    expect(await askAbout('seeing')).toEqual({
      role: 'user',
      content: [
        { type: 'text', text: 'What does this chart show?' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG.toString('base64')}` } },
      ],
    });
  });

  it('reaches a model without vision as a note, never as bytes or a URL', async () => {
    const asked = await askAbout('blind');
    expect(typeof asked.content).toBe('string');
    expect(asked.content).toContain('What does this chart show?');
    expect(asked.content).toContain('[Attached image: chart.png (image/png), not shown to this model]');
    expect(JSON.stringify(asked)).not.toContain(PNG.toString('base64'));
  });
});
