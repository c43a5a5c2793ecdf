import { Counter, Gauge } from 'prom-client';
import { loadConfig } from '../../src/config/load-config';
import { Attachment, PromptMessage } from '../../src/llm/llm-provider';
import { LlmService } from '../../src/llm/llm.service';
import { FAKE_TEXT, FakeLlmServer } from '../servers/fake-llm-server';

// A PNG signature and a few bytes that are not valid UTF-8, so only an exact base64 of them matches.
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00, 0xfe, 0x7f]);
const photo: Attachment = { kind: 'image', name: 'photo.png', mimeType: 'image/png', data: PNG };
const report: Attachment = { kind: 'file', name: 'report.pdf', mimeType: 'application/pdf', size: 12 * 1024 };

describe(`${LlmService.name} attachments`, () => {
  const fake = new FakeLlmServer();
  let sut: LlmService;

  beforeAll(async () => {
    await fake.start();
    const base = fake.baseUrl;
    const config = loadConfig({
      LLM_MODELS: JSON.stringify([
        { id: 'gpt', provider: 'openai', model: 'gpt-text', baseUrl: `${base}/v1`, apiKey: 'k' },
        { id: 'claude', provider: 'anthropic', model: 'claude-text', baseUrl: base, apiKey: 'k' },
        { id: 'dify', provider: 'dify', baseUrl: `${base}/v1`, apiKey: 'k' },
      ]),
      LLM_MAX_RETRIES: '0',
    });
    const counter = (name: string, labelNames: string[]) =>
      new Counter({ name, help: name, labelNames, registers: [] });
    sut = new LlmService(
      config,
      counter('requests', ['provider', 'model', 'outcome']),
      counter('tokens', ['provider', 'model', 'kind']),
      counter('fallbacks', ['from', 'to']),
      new Gauge({ name: 'open', help: 'open', labelNames: ['provider'], registers: [] }),
    );
  });
  afterAll(() => fake.stop());

  const turn = async (modelId: string, messages: PromptMessage[]): Promise<string> => {
    let text = '';
    for await (const event of sut.streamTurn({
      modelId,
      messages,
      userId: 'u',
      sessionId: 's',
      signal: new AbortController().signal,
    })) {
      if (event.type === 'delta') text += event.text;
    }
    return text;
  };

  const NOTED =
    'what is in these?\n[Attached image: photo.png (image/png), not shown to this model]\n' +
    '[Attached file: report.pdf (application/pdf, 12 KB)]';

  it.each([
    ['gpt', 'openai', (body: Record<string, unknown>) => body.messages],
    ['claude', 'anthropic', (body: Record<string, unknown>) => body.messages],
    ['dify', 'dify', (body: Record<string, unknown>) => [{ role: 'user', content: body.query }]],
  ] as const)(
    'tells the %s model of each attachment in a text note and sends it no image',
    async (modelId, vendor, sent) => {
      const before = fake.of(vendor).length;
      expect(await turn(modelId, [{ role: 'user', content: 'what is in these?', attachments: [photo, report] }])).toBe(
        FAKE_TEXT,
      );
      expect(fake.of(vendor)).toHaveLength(before + 1);
      const body = fake.of(vendor).at(-1)?.body ?? {};
      expect(sent(body)).toEqual([{ role: 'user', content: NOTED }]);
      expect(JSON.stringify(body)).not.toContain(PNG.toString('base64'));
    },
  );
});
