import { DEFAULT_HANDOFF_MESSAGE, isInternalHost, parseModels } from './llm-models';

const parse = (env: Record<string, string>) => {
  const problems: string[] = [];
  return { ...parseModels(env, problems), problems };
};

describe('parseModels', () => {
  it('falls back to the demo model alone', () => {
    expect(parse({})).toMatchObject({
      models: [{ id: 'demo', provider: 'demo' }],
      defaultModelId: 'demo',
      problems: [],
    });
  });

  it('reads LLM_MODELS with defaults, apiKeyEnv and the default model', () => {
    const { models, defaultModelId, problems } = parse({
      LLM_MODELS: JSON.stringify([
        { id: 'a', provider: 'openai', model: 'gpt-x', apiKeyEnv: 'OPENAI_KEY', fallback: ['b'] },
        {
          id: 'b',
          name: 'Bee',
          provider: 'anthropic',
          model: 'claude-x',
          apiKey: 'k',
          maxTokens: 2048,
          temperature: 0.2,
        },
      ]),
      OPENAI_KEY: 'secret-key',
      LLM_DEFAULT_MODEL: 'b',
    });
    expect(problems).toEqual([]);
    expect(defaultModelId).toBe('b');
    expect(models).toEqual([
      {
        id: 'a',
        name: 'a',
        provider: 'openai',
        model: 'gpt-x',
        apiKey: 'secret-key',
        maxTokens: 1024,
        contextTokens: 8000,
        fallback: ['b'],
        baseUrl: undefined,
        systemPrompt: undefined,
        temperature: undefined,
        handoff: false,
        handoffMessage: DEFAULT_HANDOFF_MESSAGE,
        vision: false,
      },
      {
        id: 'b',
        name: 'Bee',
        provider: 'anthropic',
        model: 'claude-x',
        apiKey: 'k',
        maxTokens: 2048,
        contextTokens: 8000,
        fallback: [],
        baseUrl: undefined,
        systemPrompt: undefined,
        temperature: 0.2,
        handoff: false,
        handoffMessage: DEFAULT_HANDOFF_MESSAGE,
        vision: false,
      },
    ]);
  });

  it('reads handoff and handoffMessage for openai and anthropic models', () => {
    const { models, problems } = parse({
      LLM_MODELS: JSON.stringify([
        { id: 'a', provider: 'openai', model: 'gpt-x', apiKey: 'k', handoff: true },
        {
          id: 'b',
          provider: 'anthropic',
          model: 'claude-x',
          apiKey: 'k',
          handoff: true,
          handoffMessage: 'A person joins.',
        },
        { id: 'c', provider: 'openai', model: 'gpt-x', apiKey: 'k', handoff: false },
        { id: 'd', provider: 'dify', baseUrl: 'https://dify.example.com/v1', apiKey: 'k', handoff: false },
      ]),
    });
    expect(problems).toEqual([]);
    expect(models.map((m) => [m.id, m.handoff, m.handoffMessage])).toEqual([
      ['a', true, DEFAULT_HANDOFF_MESSAGE],
      ['b', true, 'A person joins.'],
      ['c', false, DEFAULT_HANDOFF_MESSAGE],
      ['d', false, DEFAULT_HANDOFF_MESSAGE],
    ]);
  });

  it('reads vision for openai and anthropic models, in both forms, false by default', () => {
    const { models, problems } = parse({
      LLM_MODELS: JSON.stringify([
        { id: 'a', provider: 'openai', model: 'gpt-x', apiKey: 'k', vision: true },
        { id: 'b', provider: 'anthropic', model: 'claude-x', apiKey: 'k', vision: true },
        { id: 'c', provider: 'openai', model: 'gpt-x', apiKey: 'k', vision: false },
        { id: 'd', provider: 'dify', baseUrl: 'https://dify.example.com/v1', apiKey: 'k' },
      ]),
    });
    expect(problems).toEqual([]);
    expect(models.map((m) => [m.id, m.vision])).toEqual([
      ['a', true],
      ['b', true],
      ['c', false],
      ['d', false],
    ]);
    const numbered = parse({
      LLM_PROVIDER_1_ID: 'seeing',
      LLM_PROVIDER_1_TYPE: 'openai',
      LLM_PROVIDER_1_API_KEY: 'k',
      LLM_PROVIDER_1_MODEL: 'gpt-4o',
      LLM_PROVIDER_1_VISION: 'true',
      LLM_PROVIDER_2_ID: 'blind',
      LLM_PROVIDER_2_TYPE: 'openai',
      LLM_PROVIDER_2_API_KEY: 'k',
      LLM_PROVIDER_2_MODEL: 'gpt-4o',
      LLM_PROVIDER_2_VISION: 'false',
    });
    expect(numbered.problems).toEqual([]);
    expect(numbered.models.map((m) => m.vision)).toEqual([true, false]);
  });

  it.each([
    [
      {
        LLM_PROVIDER_1_TYPE: 'dify',
        LLM_PROVIDER_1_ENDPOINT: 'https://dify.example.com/v1',
        LLM_PROVIDER_1_VISION: 'true',
      },
      'LLM_PROVIDER_1_VISION needs an openai or anthropic model (a dify model cannot take images here)',
    ],
    [
      { LLM_PROVIDER_1_TYPE: 'openai', LLM_PROVIDER_1_MODEL: 'm', LLM_PROVIDER_1_VISION: 'yes' },
      'LLM_PROVIDER_1_VISION must be true or false',
    ],
  ])('refuses the numbered form %j', (env, message) => {
    expect(parse({ LLM_PROVIDER_1_ID: 'x', LLM_PROVIDER_1_API_KEY: 'k', ...env }).problems).toEqual([message]);
  });

  it('reads TRANSCRIPTION_MODEL, keeping a transcriptionOnly model out of the chat models', () => {
    const whisper = { id: 'ears', provider: 'openai', model: 'whisper-1', apiKey: 'k', transcriptionOnly: true };
    const { models, defaultModelId, transcriptionModel, problems } = parse({
      LLM_MODELS: JSON.stringify([{ id: 'gpt', provider: 'openai', model: 'gpt-x', apiKey: 'k' }, whisper]),
      TRANSCRIPTION_MODEL: 'ears',
    });
    expect(problems).toEqual([]);
    expect(models.map((m) => m.id)).toEqual(['gpt']);
    expect(defaultModelId).toBe('gpt');
    expect(transcriptionModel).toMatchObject({ id: 'ears', provider: 'openai', model: 'whisper-1', apiKey: 'k' });
    // A chat model may transcribe as well (an OpenAI-compatible server that serves both).
    const shared = parse({
      LLM_MODELS: JSON.stringify([{ id: 'local', provider: 'openai', model: 'm', apiKey: 'k' }]),
      TRANSCRIPTION_MODEL: 'local',
    });
    expect(shared.problems).toEqual([]);
    expect([shared.models[0].id, shared.transcriptionModel?.id]).toEqual(['local', 'local']);
    // Only transcription configured: the chat falls back to the demo model.
    expect(parse({ LLM_MODELS: JSON.stringify([whisper]), TRANSCRIPTION_MODEL: 'ears' })).toMatchObject({
      models: [{ id: 'demo' }],
      defaultModelId: 'demo',
      problems: [],
    });
    expect(parse({}).transcriptionModel).toBeUndefined();
  });

  it.each([
    [[], 'nope', 'TRANSCRIPTION_MODEL "nope" is not a configured model id'],
    [
      [{ id: 'claude', provider: 'anthropic', model: 'c', apiKey: 'k' }],
      'claude',
      'TRANSCRIPTION_MODEL "claude" must name an openai (OpenAI-compatible) model; its provider is anthropic',
    ],
    [[], 'demo', 'TRANSCRIPTION_MODEL "demo" must name an openai (OpenAI-compatible) model; its provider is demo'],
    [
      [{ id: 'w', provider: 'openai', model: 'whisper-1', apiKey: 'k', transcriptionOnly: true }],
      '',
      'model "w" is transcriptionOnly, but TRANSCRIPTION_MODEL does not name it',
    ],
    [
      [{ id: 'w', provider: 'anthropic', model: 'c', apiKey: 'k', transcriptionOnly: true }],
      'w',
      'LLM_MODELS[0]: transcriptionOnly needs an openai model (one that serves /audio/transcriptions)',
    ],
    [
      [{ id: 'w', provider: 'openai', model: 'whisper-1', apiKey: 'k', transcriptionOnly: 'yes' }],
      'w',
      'LLM_MODELS[0]: transcriptionOnly must be true or false',
    ],
    [
      [
        { id: 'gpt', provider: 'openai', model: 'g', apiKey: 'k', fallback: ['w'] },
        { id: 'w', provider: 'openai', model: 'whisper-1', apiKey: 'k', transcriptionOnly: true },
      ],
      'w',
      'model "gpt" falls back to "w", which is transcription-only',
    ],
    [
      [
        { id: 'w', provider: 'openai', model: 'whisper-1', apiKey: 'k', transcriptionOnly: true },
        { id: 'w', provider: 'openai', model: 'g', apiKey: 'k' },
      ],
      'w',
      'model id "w" is configured twice',
    ],
  ])('refuses the models %j with TRANSCRIPTION_MODEL=%s', (models, named, message) => {
    const env = { LLM_MODELS: JSON.stringify(models), TRANSCRIPTION_MODEL: named };
    expect(parse(env).problems).toEqual(expect.arrayContaining([message]));
  });

  it('refuses a transcription-only LLM_DEFAULT_MODEL', () => {
    const models = [
      { id: 'gpt', provider: 'openai', model: 'g', apiKey: 'k' },
      { id: 'w', provider: 'openai', model: 'whisper-1', apiKey: 'k', transcriptionOnly: true },
    ];
    expect(
      parse({ LLM_MODELS: JSON.stringify(models), TRANSCRIPTION_MODEL: 'w', LLM_DEFAULT_MODEL: 'w' }).problems,
    ).toEqual(['LLM_DEFAULT_MODEL "w" is transcription-only']);
  });

  it('reads the Go service numbered form', () => {
    const { models, problems } = parse({
      LLM_PROVIDER_1_ID: 'local',
      LLM_PROVIDER_1_NAME: 'Local Llama',
      LLM_PROVIDER_1_TYPE: 'openai',
      LLM_PROVIDER_1_ENDPOINT: 'http://ollama:11434/v1',
      LLM_PROVIDER_1_API_KEY: 'ollama',
      LLM_PROVIDER_1_MODEL: 'llama3.2',
      LLM_PROVIDER_3_ID: 'dify',
      LLM_PROVIDER_3_TYPE: 'dify',
      LLM_PROVIDER_3_ENDPOINT: 'https://dify.example.com/v1',
      LLM_PROVIDER_3_API_KEY: 'app-key',
    });
    expect(problems).toEqual([]);
    expect(models.map((m) => [m.id, m.name, m.provider, m.model, m.baseUrl])).toEqual([
      ['local', 'Local Llama', 'openai', 'llama3.2', 'http://ollama:11434/v1'],
      ['dify', 'dify', 'dify', 'dify', 'https://dify.example.com/v1'],
    ]);
  });

  it.each([
    ['not json', /^LLM_MODELS must be a JSON array/],
    ['{"id":"x"}', /^LLM_MODELS must be a JSON array/],
    ['[{"id":"bad id","provider":"openai","model":"m","apiKey":"k"}]', /id must be 1-64 letters/],
    [
      '[{"id":"x","provider":"gemini","model":"m","apiKey":"k"}]',
      /provider must be one of openai, anthropic, dify, demo/,
    ],
    ['[{"id":"x","provider":"openai","model":"m"}]', /apiKey \(or apiKeyEnv\) is required/],
    ['[{"id":"x","provider":"openai","apiKey":"k"}]', /model is required/],
    [
      '[{"id":"x","provider":"openai","model":"m","apiKey":"k","baseUrl":"http://api.example.com/v1"}]',
      /baseUrl must use https/,
    ],
    ['[{"id":"x","provider":"openai","model":"m","apiKey":"k","baseUrl":"::"}]', /baseUrl is not a URL/],
    ['[{"id":"x","provider":"dify","apiKey":"k"}]', /a dify model needs baseUrl/],
    [
      '[{"id":"x","provider":"openai","model":"m","apiKey":"k","fallback":["y"]}]',
      /falls back to "y", which is not configured/,
    ],
    ['[{"id":"x","provider":"openai","model":"m","apiKey":"k","maxTokens":0}]', /maxTokens must be a positive integer/],
    ['[{"id":"x","provider":"openai","model":"m","apiKey":"k","temperature":3}]', /temperature must be 0-2/],
    ['[{"id":"x","provider":"demo"},{"id":"x","provider":"demo"}]', /model id "x" is configured twice/],
    [
      '[{"id":"x","provider":"openai","model":"m","apiKeyEnv":"MISSING_KEY"}]',
      /apiKeyEnv names MISSING_KEY, which is not set/,
    ],
    [
      '[{"id":"x","provider":"openai","model":"m","apiKey":"k","handoff":"yes"}]',
      /^LLM_MODELS\[0\]: handoff must be true or false$/,
    ],
    [
      '[{"id":"x","provider":"dify","baseUrl":"https://dify.example.com/v1","apiKey":"k","handoff":true}]',
      /^LLM_MODELS\[0\]: handoff needs an openai or anthropic model \(a dify model cannot call tools\)$/,
    ],
    [
      '[{"id":"x","provider":"demo","handoff":true}]',
      /^LLM_MODELS\[0\]: handoff needs an openai or anthropic model \(a demo model cannot call tools\)$/,
    ],
    [
      '[{"id":"x","provider":"openai","model":"m","apiKey":"k","vision":"true"}]',
      /^LLM_MODELS\[0\]: vision must be true or false$/,
    ],
    [
      '[{"id":"x","provider":"dify","baseUrl":"https://dify.example.com/v1","apiKey":"k","vision":true}]',
      /^LLM_MODELS\[0\]: vision needs an openai or anthropic model \(a dify model cannot take images here\)$/,
    ],
    [
      '[{"id":"x","provider":"demo","vision":true}]',
      /^LLM_MODELS\[0\]: vision needs an openai or anthropic model \(a demo model cannot take images here\)$/,
    ],
    [
      '[{"id":"x","provider":"openai","model":"m","apiKey":"k","handoffMessage":""}]',
      /^LLM_MODELS\[0\]: handoffMessage must be a non-empty string of at most 500 characters$/,
    ],
    [
      '[{"id":"x","provider":"openai","model":"m","apiKey":"k","handoffMessage":"   "}]',
      /handoffMessage must be a non-empty string/,
    ],
    [
      '[{"id":"x","provider":"openai","model":"m","apiKey":"k","handoffMessage":42}]',
      /handoffMessage must be a non-empty string/,
    ],
    [
      '[{"id":"x","provider":"openai","model":"m","apiKey":"k","pricePer1kPromptTokens":-0.01,"pricePer1kCompletionTokens":1}]',
      /^LLM_MODELS\[0\]: pricePer1kPromptTokens must be a number of at least 0$/,
    ],
    [
      '[{"id":"x","provider":"openai","model":"m","apiKey":"k","pricePer1kPromptTokens":1,"pricePer1kCompletionTokens":"2"}]',
      /^LLM_MODELS\[0\]: pricePer1kCompletionTokens must be a number of at least 0$/,
    ],
    [
      '[{"id":"x","provider":"openai","model":"m","apiKey":"k","pricePer1kPromptTokens":1e400,"pricePer1kCompletionTokens":1}]',
      /^LLM_MODELS\[0\]: pricePer1kPromptTokens must be a number of at least 0$/,
    ],
    [
      '[{"id":"x","provider":"openai","model":"m","apiKey":"k","pricePer1kPromptTokens":1}]',
      /^LLM_MODELS\[0\]: pricePer1kPromptTokens and pricePer1kCompletionTokens go together$/,
    ],
  ])('refuses LLM_MODELS=%s', (value, message) => {
    expect(parse({ LLM_MODELS: value }).problems).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
  });

  it('takes a handoffMessage of 500 characters and refuses one of 501', () => {
    const withMessage = (handoffMessage: string) =>
      parse({ LLM_MODELS: JSON.stringify([{ id: 'x', provider: 'openai', model: 'm', apiKey: 'k', handoffMessage }]) });
    const longest = withMessage('a'.repeat(500));
    expect(longest.problems).toEqual([]);
    expect(longest.models[0].handoffMessage).toBe('a'.repeat(500));
    expect(withMessage('a'.repeat(501)).problems).toEqual([
      'LLM_MODELS[0]: handoffMessage must be a non-empty string of at most 500 characters',
    ]);
  });

  it('reads prices per 1k prompt and completion tokens, zero included, and leaves them out when unset', () => {
    const { models, problems } = parse({
      LLM_MODELS: JSON.stringify([
        {
          id: 'a',
          provider: 'openai',
          model: 'm',
          apiKey: 'k',
          pricePer1kPromptTokens: 0.15,
          pricePer1kCompletionTokens: 0,
        },
        { id: 'b', provider: 'openai', model: 'm', apiKey: 'k' },
      ]),
    });
    expect(problems).toEqual([]);
    expect(models[0]).toMatchObject({ pricePer1kPromptTokens: 0.15, pricePer1kCompletionTokens: 0 });
    expect(models[1]).not.toHaveProperty('pricePer1kPromptTokens');
    expect(models[1]).not.toHaveProperty('pricePer1kCompletionTokens');
  });

  it('refuses an unknown default model', () => {
    expect(parse({ LLM_DEFAULT_MODEL: 'gpt-4' }).problems).toEqual([
      'LLM_DEFAULT_MODEL "gpt-4" is not a configured model id',
    ]);
  });
});

describe('isInternalHost', () => {
  it.each([
    'localhost',
    '127.0.0.1',
    '10.1.2.3',
    '172.20.0.5',
    '192.168.1.10',
    '[::1]',
    'fd00::1',
    'ollama',
    'vllm.ml.svc.cluster.local',
    'llm.internal',
  ])('allows plain http to %s', (host) => expect(isInternalHost(host)).toBe(true));
  it.each(['api.openai.com', '8.8.8.8', '172.32.0.1', '169.254.169.254', '2001:db8::1'])(
    'refuses plain http to %s',
    (host) => expect(isInternalHost(host)).toBe(false),
  );
});
