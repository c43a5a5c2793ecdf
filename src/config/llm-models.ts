import { isIP } from 'node:net';

export const PROVIDERS = ['openai', 'anthropic', 'dify', 'demo'] as const;
export type ProviderKind = (typeof PROVIDERS)[number];
/** The providers whose models can call the `request_human` tool. */
export const HANDOFF_PROVIDERS: readonly ProviderKind[] = ['openai', 'anthropic'];
/** The providers whose models Chatbox can show images. */
export const VISION_PROVIDERS: readonly ProviderKind[] = ['openai', 'anthropic'];
export const DEFAULT_HANDOFF_MESSAGE = "I'm bringing in a human agent to help you. Please wait a moment.";
const HANDOFF_MESSAGE_MAX = 500;

/** One configured model, as LLM_MODELS (or the numbered LLM_PROVIDER_<n>_* form) describes it. */
export interface ModelConfig {
  id: string;
  name: string;
  provider: ProviderKind;
  /** The vendor's model name. */
  model: string;
  baseUrl?: string;
  apiKey?: string;
  systemPrompt?: string;
  maxTokens: number;
  temperature?: number;
  /** Prompt budget in tokens: history is trimmed newest-first to fit. */
  contextTokens: number;
  fallback: string[];
  /** The model may ask for a human through the `request_human` tool. */
  handoff: boolean;
  /** What the user is told when the model hands the conversation to a human. */
  handoffMessage: string;
  /** The model is shown the images users send (the newest few); otherwise it reads a note for each. */
  vision: boolean;
  /** Prices per 1,000 tokens, in the operator's currency, for the usage figures' estimated cost: both or neither. */
  pricePer1kPromptTokens?: number;
  pricePer1kCompletionTokens?: number;
}

export const DEMO_MODEL: ModelConfig = {
  id: 'demo',
  name: 'Demo (no provider configured)',
  provider: 'demo',
  model: 'demo',
  maxTokens: 1024,
  contextTokens: 8000,
  fallback: [],
  handoff: false,
  handoffMessage: DEFAULT_HANDOFF_MESSAGE,
  vision: false,
};

const ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Plain http only where traffic stays inside: loopback, private ranges, cluster-internal names. */
export function isInternalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  if (family === 4) {
    const [a, b] = host.split('.').map(Number);
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  }
  if (family === 6) return host === '::1' || /^f[cd]/.test(host);
  return !host.includes('.') || /\.(svc|svc\.cluster\.local|cluster\.local|internal|local)$/.test(host);
}

type RawModel = Record<string, unknown>;

/** The numbered form's flags are strings: `true` and `false` are read, anything else is kept to be refused. */
const flag = (value: string | undefined) => (value === 'true' ? true : value === 'false' ? false : value);

function fromNumbered(env: NodeJS.ProcessEnv): RawModel[] {
  const models: RawModel[] = [];
  for (let n = 1; n <= 20; n++) {
    const get = (field: string) => env[`LLM_PROVIDER_${n}_${field}`] || undefined;
    if (!get('ID') && !get('TYPE')) continue;
    models.push({
      id: get('ID'),
      name: get('NAME'),
      provider: get('TYPE'),
      baseUrl: get('ENDPOINT'),
      apiKey: get('API_KEY'),
      model: get('MODEL'),
      vision: flag(get('VISION')),
      source: `LLM_PROVIDER_${n}`,
      numbered: true,
    });
  }
  return models;
}

/**
 * The model list from LLM_MODELS (JSON) or LLM_PROVIDER_<n>_*, and the TRANSCRIPTION_MODEL; every problem
 * names its variable. With neither list, the demo model alone. Entries marked `transcriptionOnly` are kept
 * out of the chat models: they only transcribe.
 */
export function parseModels(
  env: NodeJS.ProcessEnv,
  problems: string[],
): { models: ModelConfig[]; defaultModelId: string; transcriptionModel?: ModelConfig } {
  let raw: RawModel[];
  if (env.LLM_MODELS) {
    try {
      const parsed: unknown = JSON.parse(env.LLM_MODELS);
      if (!Array.isArray(parsed)) throw new Error('not an array');
      raw = parsed.map((m, i) => ({ ...(m as RawModel), source: `LLM_MODELS[${i}]`, numbered: false }));
    } catch (error) {
      problems.push(`LLM_MODELS must be a JSON array of models (${(error as Error).message})`);
      raw = [];
    }
  } else {
    raw = fromNumbered(env);
  }

  const models: ModelConfig[] = [];
  const transcriptionOnly: ModelConfig[] = [];
  for (const m of raw) {
    const where = String(m.source);
    // A field's own variable in the numbered form (LLM_PROVIDER_1_VISION), its place in LLM_MODELS otherwise.
    const field = (key: string) => (m.numbered ? `${where}_${key.toUpperCase()}` : `${where}: ${key}`);
    const str = (key: string) => (typeof m[key] === 'string' && m[key] !== '' ? m[key] : undefined);
    const num = (key: string) => (typeof m[key] === 'number' ? m[key] : undefined);
    const id = str('id');
    const provider = str('provider') as ProviderKind | undefined;
    if (!id || !ID.test(id)) problems.push(`${where}: id must be 1-64 letters, digits, . _ : -`);
    if (!provider || !PROVIDERS.includes(provider))
      problems.push(`${where}: provider must be one of ${PROVIDERS.join(', ')}`);
    const apiKeyEnv = str('apiKeyEnv');
    const apiKey = str('apiKey') ?? (apiKeyEnv ? env[apiKeyEnv] : undefined);
    if (apiKeyEnv && !env[apiKeyEnv]) problems.push(`${where}: apiKeyEnv names ${apiKeyEnv}, which is not set`);
    const baseUrl = str('baseUrl');
    if (baseUrl) {
      try {
        const url = new URL(baseUrl);
        if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isInternalHost(url.hostname))) {
          problems.push(
            `${where}: baseUrl must use https (plain http only for loopback, private and cluster-internal hosts)`,
          );
        }
      } catch {
        problems.push(`${where}: baseUrl is not a URL`);
      }
    } else if (provider === 'dify') {
      problems.push(`${where}: a dify model needs baseUrl`);
    }
    if (provider && provider !== 'demo' && !apiKey) problems.push(`${where}: apiKey (or apiKeyEnv) is required`);
    const model = str('model') ?? (provider === 'dify' ? 'dify' : undefined);
    if (!model && provider !== 'demo') problems.push(`${where}: model is required`);
    const maxTokens = num('maxTokens') ?? 1024;
    const contextTokens = num('contextTokens') ?? 8000;
    const temperature = num('temperature');
    if (!Number.isInteger(maxTokens) || maxTokens < 1) problems.push(`${where}: maxTokens must be a positive integer`);
    if (!Number.isInteger(contextTokens) || contextTokens < 256)
      problems.push(`${where}: contextTokens must be an integer of at least 256`);
    if (temperature !== undefined && (temperature < 0 || temperature > 2))
      problems.push(`${where}: temperature must be 0-2`);
    const handoff = m.handoff ?? false;
    if (typeof handoff !== 'boolean') problems.push(`${where}: handoff must be true or false`);
    else if (handoff && provider && PROVIDERS.includes(provider) && !HANDOFF_PROVIDERS.includes(provider)) {
      problems.push(`${where}: handoff needs an openai or anthropic model (a ${provider} model cannot call tools)`);
    }
    const vision = m.vision ?? false;
    if (typeof vision !== 'boolean') problems.push(`${field('vision')} must be true or false`);
    else if (vision && provider && PROVIDERS.includes(provider) && !VISION_PROVIDERS.includes(provider)) {
      problems.push(
        `${field('vision')} needs an openai or anthropic model (a ${provider} model cannot take images here)`,
      );
    }
    const handoffMessage = m.handoffMessage ?? DEFAULT_HANDOFF_MESSAGE;
    const messageOk =
      typeof handoffMessage === 'string' &&
      handoffMessage.trim() !== '' &&
      handoffMessage.length <= HANDOFF_MESSAGE_MAX;
    if (!messageOk) {
      problems.push(`${where}: handoffMessage must be a non-empty string of at most ${HANDOFF_MESSAGE_MAX} characters`);
    }
    const prices = ['pricePer1kPromptTokens', 'pricePer1kCompletionTokens'] as const;
    const [promptPrice, completionPrice] = prices.map((key) => m[key]);
    for (const key of prices.filter((k) => m[k] !== undefined)) {
      const price = m[key];
      if (typeof price !== 'number' || !Number.isFinite(price) || price < 0) {
        problems.push(`${where}: ${key} must be a number of at least 0`);
      }
    }
    // One price alone would report a cost that leaves the other kind of token out.
    if ((promptPrice === undefined) !== (completionPrice === undefined)) {
      problems.push(`${where}: pricePer1kPromptTokens and pricePer1kCompletionTokens go together`);
    }
    const onlyTranscribes = m.transcriptionOnly ?? false;
    if (typeof onlyTranscribes !== 'boolean') problems.push(`${where}: transcriptionOnly must be true or false`);
    else if (onlyTranscribes && provider && provider !== 'openai') {
      problems.push(`${where}: transcriptionOnly needs an openai model (one that serves /audio/transcriptions)`);
    }
    const fallback = Array.isArray(m.fallback) ? m.fallback.filter((f): f is string => typeof f === 'string') : [];
    (onlyTranscribes === true ? transcriptionOnly : models).push({
      id: id ?? '',
      name: str('name') ?? id ?? '',
      provider: provider ?? 'demo',
      model: model ?? 'demo',
      baseUrl,
      apiKey,
      systemPrompt: str('systemPrompt'),
      maxTokens,
      temperature,
      contextTokens,
      fallback,
      handoff: handoff === true,
      handoffMessage: messageOk ? handoffMessage : DEFAULT_HANDOFF_MESSAGE,
      vision: vision === true,
      ...(typeof promptPrice === 'number' && typeof completionPrice === 'number'
        ? { pricePer1kPromptTokens: promptPrice, pricePer1kCompletionTokens: completionPrice }
        : {}),
    });
  }

  const ids = new Set<string>();
  for (const m of [...models, ...transcriptionOnly]) {
    if (ids.has(m.id)) problems.push(`model id "${m.id}" is configured twice`);
    ids.add(m.id);
  }
  const chatIds = new Set(models.map((m) => m.id));
  const unfit = (id: string) => (ids.has(id) ? 'transcription-only' : 'not configured');
  for (const m of models) {
    for (const f of m.fallback.filter((f) => !chatIds.has(f) || f === m.id)) {
      problems.push(`model "${m.id}" falls back to "${f}", which is ${f === m.id ? 'itself' : unfit(f)}`);
    }
  }
  if (models.length === 0) models.push(DEMO_MODEL);
  const defaultModelId = env.LLM_DEFAULT_MODEL || models[0].id;
  if (!chatIds.has(defaultModelId) && defaultModelId !== DEMO_MODEL.id) {
    problems.push(
      ids.has(defaultModelId)
        ? `LLM_DEFAULT_MODEL "${defaultModelId}" is transcription-only`
        : `LLM_DEFAULT_MODEL "${defaultModelId}" is not a configured model id`,
    );
  }
  const transcriptionId = env.TRANSCRIPTION_MODEL || undefined;
  const transcriptionModel = [...models, ...transcriptionOnly].find((m) => m.id === transcriptionId);
  if (transcriptionId && !transcriptionModel) {
    problems.push(`TRANSCRIPTION_MODEL "${transcriptionId}" is not a configured model id`);
  } else if (transcriptionModel && transcriptionModel.provider !== 'openai') {
    problems.push(
      `TRANSCRIPTION_MODEL "${transcriptionId}" must name an openai (OpenAI-compatible) model; ` +
        `its provider is ${transcriptionModel.provider}`,
    );
  }
  for (const m of transcriptionOnly.filter((m) => m.id !== transcriptionId)) {
    problems.push(`model "${m.id}" is transcriptionOnly, but TRANSCRIPTION_MODEL does not name it`);
  }
  return { models, defaultModelId, transcriptionModel };
}
