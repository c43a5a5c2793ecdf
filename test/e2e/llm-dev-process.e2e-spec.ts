import { randomUUID } from 'node:crypto';
import { FAKE_TEXT, FakeLlmServer } from '../servers/fake-llm-server';
import { ChatClient, signToken } from '../utils/chat-client';
import { ChatboxProcess } from '../utils/chatbox-process';
import { testMongoUri } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

describe('the service in development with an OpenAI-compatible server in the environment', () => {
  const fake = new FakeLlmServer();
  let service: ChatboxProcess;

  beforeAll(() => fake.start());
  afterAll(async () => {
    await service?.stop();
    await fake.stop();
  });

  it('chats through it, configured with the Go service numbered variables', async () => {
    const jwtSecret = randomUUID() + randomUUID();
    service = new ChatboxProcess({
      NODE_ENV: 'development',
      PORT: '0',
      MONGODB_URI: testMongoUri(),
      JWT_SECRET: jwtSecret,
      LLM_PROVIDER_1_ID: 'local',
      LLM_PROVIDER_1_NAME: 'Local model',
      LLM_PROVIDER_1_TYPE: 'openai',
      LLM_PROVIDER_1_ENDPOINT: `${fake.baseUrl}/v1`,
      LLM_PROVIDER_1_API_KEY: 'sk-local',
      LLM_PROVIDER_1_MODEL: 'llama3.2',
    });
    const baseUrl = await service.listening();
    const client = await ChatClient.connect(baseUrl, await signToken(jwtSecret, { sub: `u-${randomUUID()}` }));
    try {
      expect(await client.waitForEvent('models')).toEqual({
        models: [{ id: 'local', name: 'Local model' }],
        defaultModelId: 'local',
      });
      const { sessionId } = await client.ok<{ sessionId: string }>('session:start', {});
      await client.ok('message:send', { sessionId, clientMessageId: 'dev-1', content: 'hello local model' });
      const end = await waitFor(() => client.named('ai:end')[0], { what: 'the reply' });
      expect(client.streamedText(end.messageId as string)).toBe(FAKE_TEXT);
      expect(fake.of('openai')[0]).toMatchObject({
        body: { model: 'llama3.2' },
        headers: { authorization: 'Bearer sk-local' },
      });
    } finally {
      client.close();
    }
  });
});
