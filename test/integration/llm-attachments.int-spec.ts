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
        { id: 'gpt-vision', provider: 'openai', model: 'gpt-eyes', baseUrl: `${base}/v1`, apiKey: 'k', vision: true },
        { id: 'claude-vision', provider: 'anthropic', model: 'claude-eyes', baseUrl: base, apiKey: 'k', vision: true },
        {
          id: 'seeing-first',
          provider: 'openai',
          model: 'gpt-eyes',
          baseUrl: `${base}/seeing/v1`,
          apiKey: 'k',
          vision: true,
          fallback: ['gpt'],
        },
      ]),
      LLM_MAX_RETRIES: '0',
      LLM_VISION_MAX_IMAGES: '2',
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

  const base64 = PNG.toString('base64');

  it('shows an OpenAI vision model the image as an image_url part with the base64 of its exact bytes', async () => {
    expect(await turn('gpt-vision', [{ role: 'user', content: 'what is this?', attachments: [photo] }])).toBe(
      FAKE_TEXT,
    );
    const body = fake.of('openai').at(-1)?.body;
    expect(body?.model).toBe('gpt-eyes');
    expect(body?.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${base64}` } },
        ],
      },
    ]);
  });

  it('shows an Anthropic vision model the image as a base64 image block, then the text block', async () => {
    expect(await turn('claude-vision', [{ role: 'user', content: 'what is this?', attachments: [photo] }])).toBe(
      FAKE_TEXT,
    );
    const body = fake.of('anthropic').at(-1)?.body;
    expect(body?.model).toBe('claude-eyes');
    expect(body?.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: base64 } },
          { type: 'text', text: 'what is this?' },
        ],
      },
    ]);
  });

  it('shows only the newest images, up to LLM_VISION_MAX_IMAGES, and notes the older ones and the files', async () => {
    const image = (name: string): Attachment => ({ kind: 'image', name, mimeType: 'image/png', data: PNG });
    await turn('gpt-vision', [
      { role: 'user', content: 'first', attachments: [image('old.png')] },
      { role: 'assistant', content: 'a cat' },
      { role: 'user', content: 'second', attachments: [image('new.png'), report, image('newer.png')] },
    ]);
    const url = { type: 'image_url', image_url: { url: `data:image/png;base64,${base64}` } };
    expect(fake.of('openai').at(-1)?.body.messages).toEqual([
      {
        role: 'user',
        content: 'first\n[Attached image: old.png (image/png), not shown: only the 2 newest images are]',
      },
      { role: 'assistant', content: 'a cat' },
      {
        role: 'user',
        content: [{ type: 'text', text: 'second\n[Attached file: report.pdf (application/pdf, 12 KB)]' }, url, url],
      },
    ]);
  });

  it('gives a fallback model without vision the note, not the image its vision model would have had', async () => {
    fake.script('openai', { kind: 'status', status: 500 });
    expect(await turn('seeing-first', [{ role: 'user', content: 'what is this?', attachments: [photo] }])).toBe(
      FAKE_TEXT,
    );
    const [first, fallback] = fake.of('openai').slice(-2);
    expect(first.path).toBe('/seeing/v1/chat/completions');
    expect(JSON.stringify(first.body)).toContain(base64);
    expect(fallback.body).toMatchObject({
      model: 'gpt-text',
      messages: [
        { role: 'user', content: 'what is this?\n[Attached image: photo.png (image/png), not shown to this model]' },
      ],
    });
    expect(JSON.stringify(fallback.body)).not.toContain(base64);
  });
});
