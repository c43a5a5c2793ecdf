import { Counter, Gauge } from 'prom-client';
import { loadConfig } from '../../src/config/load-config';
import { LlmService } from '../../src/llm/llm.service';
import { FakeLlmServer, Scenario, transcriptionModel } from '../servers/fake-llm-server';
import { waitFor } from '../utils/wait-for';

// An Ogg page header and bytes that are not valid UTF-8, so only the exact bytes compare equal.
const AUDIO = Buffer.from([0x4f, 0x67, 0x67, 0x53, 0x00, 0x02, 0xff, 0xfe, 0x80, 0x00, 0x7f]);

describe(`${LlmService.name} voice transcription`, () => {
  const fake = new FakeLlmServer();

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());

  const service = (env: Record<string, string>) => {
    const counter = (name: string, labelNames: string[]) =>
      new Counter({ name, help: name, labelNames, registers: [] });
    return new LlmService(
      loadConfig({
        LLM_MODELS: JSON.stringify([
          { id: 'chat', provider: 'anthropic', model: 'claude-x', baseUrl: fake.baseUrl, apiKey: 'k' },
          transcriptionModel(fake),
        ]),
        // Generous: a first request on a loaded machine may take seconds. The timeout test sets its own.
        LLM_TURN_TIMEOUT_MS: '30000',
        ...env,
      }),
      counter('requests', ['provider', 'model', 'outcome']),
      counter('tokens', ['provider', 'model', 'kind']),
      counter('fallbacks', ['from', 'to']),
      new Gauge({ name: 'open', help: 'open', labelNames: ['provider'], registers: [] }),
    );
  };
  const code = (promise: Promise<unknown>) =>
    promise.then(
      () => 'ok',
      (error: { code?: string; retryAfterMs?: number }) => [error.code, error.retryAfterMs],
    );

  it("sends the audio's exact bytes, its name and type, and the configured model to /audio/transcriptions", async () => {
    const sut = service({ TRANSCRIPTION_MODEL: 'ears' });
    expect(sut.transcriptionConfigured).toBe(true);
    fake.script('transcription', { kind: 'ok', text: 'please call me back tomorrow' });
    const text = await sut.transcribeVoice(AUDIO, 'voice-note.ogg', 'audio/ogg', new AbortController().signal);
    expect(text).toBe('please call me back tomorrow');
    const request = fake.of('transcription').at(-1);
    expect(request?.path).toBe('/v1/audio/transcriptions');
    expect(request?.headers.authorization).toBe('Bearer k');
    expect(request?.form).toEqual({
      fields: { model: 'whisper-fake' },
      files: { file: { name: 'voice-note.ogg', type: 'audio/ogg', data: AUDIO } },
    });
    // A transcription-only model is not a chat model.
    expect(sut.listModels().models.map((m) => m.id)).toEqual(['chat']);
  });

  it('maps the vendor refusals to LLM error codes, with Retry-After', async () => {
    const sut = service({ TRANSCRIPTION_MODEL: 'ears', LLM_MAX_RETRIES: '0' });
    const transcribe = () => sut.transcribeVoice(AUDIO, 'a.ogg', 'audio/ogg', new AbortController().signal);
    fake.script(
      'transcription',
      { kind: 'status', status: 429, retryAfter: '3' },
      { kind: 'status', status: 401 },
      { kind: 'status', status: 400 },
      { kind: 'status', status: 503 },
    );
    expect(await code(transcribe())).toEqual(['rate_limited', 3000]);
    expect(await code(transcribe())).toEqual(['auth', undefined]);
    expect(await code(transcribe())).toEqual(['bad_request', undefined]);
    expect(await code(transcribe())).toEqual(['unavailable', undefined]);
  });

  it('retries what is worth retrying (LLM_MAX_RETRIES, honouring Retry-After), and not a refusal', async () => {
    const sut = service({ TRANSCRIPTION_MODEL: 'ears', LLM_MAX_RETRIES: '2', LLM_RETRY_BASE_MS: '1' });
    const transcribe = () => sut.transcribeVoice(AUDIO, 'a.ogg', 'audio/ogg', new AbortController().signal);
    let before = fake.of('transcription').length;
    fake.script(
      'transcription',
      { kind: 'status', status: 503 },
      { kind: 'status', status: 429, retryAfter: '0' },
      { kind: 'ok', text: 'third time lucky' },
    );
    expect(await transcribe()).toBe('third time lucky');
    expect(fake.of('transcription')).toHaveLength(before + 3);

    before = fake.of('transcription').length;
    const failing: Scenario = { kind: 'status', status: 500 };
    fake.script('transcription', failing, failing, failing);
    expect(await code(transcribe())).toEqual(['unavailable', undefined]);
    expect(fake.of('transcription')).toHaveLength(before + 3);

    before = fake.of('transcription').length;
    fake.script('transcription', { kind: 'status', status: 400 });
    expect(await code(transcribe())).toEqual(['bad_request', undefined]);
    expect(fake.of('transcription')).toHaveLength(before + 1);
  });

  it('gives up as timeout after LLM_TURN_TIMEOUT_MS, and the upstream request is aborted', async () => {
    const sut = service({ TRANSCRIPTION_MODEL: 'ears', LLM_TURN_TIMEOUT_MS: '1000' });
    fake.script('transcription', { kind: 'slow', firstTokenDelayMs: 5000 });
    const before = fake.of('transcription').length;
    expect(await code(sut.transcribeVoice(AUDIO, 'a.ogg', 'audio/ogg', new AbortController().signal))).toEqual([
      'timeout',
      undefined,
    ]);
    expect(fake.of('transcription')).toHaveLength(before + 1);
    await waitFor(() => fake.of('transcription').at(-1)?.aborted, { what: 'the upstream request to be aborted' });
  });

  it('is not configured without TRANSCRIPTION_MODEL (and a transcription-only model then is refused)', async () => {
    const sut = service({ LLM_MODELS: '' });
    expect(sut.transcriptionConfigured).toBe(false);
    const before = fake.requests.length;
    expect(await code(sut.transcribeVoice(AUDIO, 'a.ogg', 'audio/ogg', new AbortController().signal))).toEqual([
      'bad_request',
      undefined,
    ]);
    expect(fake.requests).toHaveLength(before);
    expect(() => service({})).toThrow('model "ears" is transcriptionOnly, but TRANSCRIPTION_MODEL does not name it');
  });
});
