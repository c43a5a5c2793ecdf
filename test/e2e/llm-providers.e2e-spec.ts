import { randomUUID } from 'node:crypto';
import { LlmService } from '../../src/llm/llm.service';
import { FAKE_TEXT, FAKE_TRANSCRIPT, FAKE_USAGE, FakeLlmServer } from '../servers/fake-llm-server';
import { ChatClient, signToken } from '../utils/chat-client';
import { startTestApp, TestApp } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

type Message = { id: string; sender: string; content: string; status: string; model?: string; usage?: unknown };

describe('LLM providers through the socket', () => {
  const fake = new FakeLlmServer();
  let t: TestApp;
  const clients: ChatClient[] = [];

  beforeAll(async () => {
    await fake.start();
    const base = fake.baseUrl;
    const models = [
      {
        id: 'gpt',
        name: 'GPT',
        provider: 'openai',
        model: 'gpt-fake',
        baseUrl: `${base}/v1`,
        apiKey: 'k',
        systemPrompt: 'You are helpful.',
      },
      {
        id: 'claude',
        name: 'Claude',
        provider: 'anthropic',
        model: 'claude-fake',
        baseUrl: base,
        apiKey: 'k',
        systemPrompt: 'Be brief.',
        maxTokens: 321,
      },
      { id: 'dify', name: 'Dify', provider: 'dify', baseUrl: `${base}/v1`, apiKey: 'k' },
      {
        id: 'primary',
        provider: 'openai',
        model: 'p',
        baseUrl: `${base}/primary/v1`,
        apiKey: 'k',
        fallback: ['backup'],
      },
      { id: 'backup', provider: 'anthropic', model: 'b', baseUrl: `${base}/backup`, apiKey: 'k' },
      { id: 'fragile', provider: 'openai', model: 'f', baseUrl: `${base}/fragile/v1`, apiKey: 'k' },
      {
        id: 'whisper',
        provider: 'openai',
        model: 'whisper-1',
        baseUrl: `${base}/v1`,
        apiKey: 'k',
        transcriptionOnly: true,
      },
      // Each fault gets an endpoint of its own, so one test's failures do not open another's circuit.
      ...['limited', 'cutter', 'stopper', 'slowpoke', 'forever'].map((id) => ({
        id,
        provider: 'openai',
        model: id,
        baseUrl: `${base}/${id}/v1`,
        apiKey: 'k',
      })),
    ];
    t = await startTestApp({
      LLM_MODELS: JSON.stringify(models),
      TRANSCRIPTION_MODEL: 'whisper',
      LLM_MAX_RETRIES: '1',
      LLM_RETRY_BASE_MS: '10',
      LLM_FIRST_DELTA_TIMEOUT_MS: '400',
      LLM_IDLE_TIMEOUT_MS: '400',
      LLM_TURN_TIMEOUT_MS: '2000',
      LLM_BREAKER_FAILURES: '3',
    });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await t.close();
    await fake.stop();
  });

  const conversation = async (modelId: string) => {
    const userId = `u-${randomUUID()}`;
    const client = await ChatClient.connect(t.baseUrl, await signToken(t.env.JWT_SECRET, { sub: userId }));
    clients.push(client);
    const { sessionId } = await client.ok<{ sessionId: string }>('session:start', { modelId });
    let turns = 0;
    const turn = async (content: string) => {
      turns += 1;
      await client.ok('message:send', { sessionId, clientMessageId: randomUUID(), content });
      const n = turns;
      return waitFor(
        () =>
          [...client.named('ai:end'), ...client.named('ai:error')].length >= n &&
          client.events.filter((e) => e.event === 'ai:end' || e.event === 'ai:error')[n - 1],
        {
          timeoutMs: 15000,
          what: `turn ${n} to end`,
        },
      );
    };
    const messages = async () => (await client.ok<{ messages: Message[] }>('session:resume', { sessionId })).messages;
    return { client, sessionId, userId, turn, messages };
  };

  it('OpenAI: streams the text, stores usage from the stream, and sends the history with the system prompt', async () => {
    const c = await conversation('gpt');
    const first = await c.turn('first question');
    expect(first.event).toBe('ai:end');
    expect(c.client.streamedText(first.payload.messageId as string)).toBe(FAKE_TEXT);
    const reply = (await c.messages()).find((m) => m.id === first.payload.messageId);
    expect(reply).toMatchObject({
      content: FAKE_TEXT,
      model: 'gpt',
      usage: { promptTokens: FAKE_USAGE.prompt, completionTokens: FAKE_USAGE.completion, estimated: false },
    });

    await c.turn('second question');
    const body = fake.of('openai').at(-1)?.body as { messages: unknown[]; stream: boolean; user: string };
    expect(body.messages).toEqual([
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: FAKE_TEXT },
      { role: 'user', content: 'second question' },
    ]);
    expect(body).toMatchObject({ stream: true, user: c.userId });

    const mongoose = (await import('mongoose')).default;
    const connection = await mongoose.createConnection(t.env.MONGODB_URI).asPromise();
    const session = await connection.collection('chat_sessions').findOne({ _id: c.sessionId as never });
    await connection.close();
    expect(session).toMatchObject({
      tokens: { prompt: 2 * FAKE_USAGE.prompt, completion: 2 * FAKE_USAGE.completion },
      responseTime: { count: 2 },
      turnTime: { count: 2 },
    });
    const timing = session as unknown as { turnTime: { maxMs: number }; responseTime: { maxMs: number } };
    expect(timing.turnTime.maxMs).toBeGreaterThanOrEqual(timing.responseTime.maxMs);
  });

  it('Anthropic: top-level system, per-model max_tokens, history, usage', async () => {
    const c = await conversation('claude');
    const first = await c.turn('hello claude');
    expect(c.client.streamedText(first.payload.messageId as string)).toBe(FAKE_TEXT);
    await c.turn('and again');
    const body = fake.of('anthropic').at(-1)?.body as Record<string, unknown>;
    expect(body).toMatchObject({ system: 'Be brief.', max_tokens: 321, stream: true });
    expect(body.messages).toEqual([
      { role: 'user', content: 'hello claude' },
      { role: 'assistant', content: FAKE_TEXT },
      { role: 'user', content: 'and again' },
    ]);
    const reply = (await c.messages()).find((m) => m.id === first.payload.messageId);
    expect(reply?.usage).toEqual({
      promptTokens: FAKE_USAGE.prompt,
      completionTokens: FAKE_USAGE.completion,
      estimated: false,
    });
  });

  it('Dify: keeps its conversation_id per session and sends the real user id', async () => {
    const c = await conversation('dify');
    const first = await c.turn('dify one');
    expect(c.client.streamedText(first.payload.messageId as string)).toBe(FAKE_TEXT);
    await c.turn('dify two');
    const [one, two] = fake
      .of('dify')
      .slice(-2)
      .map((r) => r.body);
    expect(one).toMatchObject({ query: 'dify one', conversation_id: '', user: c.userId, response_mode: 'streaming' });
    expect(two).toMatchObject({
      query: 'dify two',
      user: c.userId,
      conversation_id: expect.stringMatching(/^conv-\d+$/) as string,
    });
    const reply = (await c.messages()).find((m) => m.id === first.payload.messageId);
    expect(reply?.usage).toEqual({
      promptTokens: FAKE_USAGE.prompt,
      completionTokens: FAKE_USAGE.completion,
      estimated: false,
    });
  });

  it('Dify: surfaces an error event as ai:error', async () => {
    const c = await conversation('dify');
    fake.script('dify', { kind: 'error-event' });
    const end = await c.turn('make it fail');
    expect(end).toMatchObject({ event: 'ai:error', payload: { error: { code: 'bad_request', recoverable: false } } });
  });

  it('retries a 429 honouring Retry-After: one reply, no duplicated deltas', async () => {
    const c = await conversation('limited');
    const before = fake.of('openai').length;
    fake.script('openai', { kind: 'status', status: 429, retryAfter: '0.05' });
    const end = await c.turn('rate limited at first');
    expect(end.event).toBe('ai:end');
    expect(fake.of('openai').length - before).toBe(2);
    expect(c.client.streamedText(end.payload.messageId as string)).toBe(FAKE_TEXT);
    expect(c.client.named('ai:start')).toHaveLength(1);
  });

  it('hands repeated 500s to the fallback model, records it, and the metrics show the fallback', async () => {
    const c = await conversation('primary');
    fake.script('openai', { kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    const end = await c.turn('primary is down');
    expect(end.event).toBe('ai:end');
    const reply = (await c.messages()).find((m) => m.id === end.payload.messageId);
    expect(reply).toMatchObject({ model: 'backup', content: FAKE_TEXT });
    const metrics = await (
      await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${t.env.METRICS_TOKEN}` } })
    ).text();
    expect(metrics).toMatch(/chatbox_llm_fallbacks_total\{from="primary",to="backup"\} 1/);
  });

  it('ends a stream cut mid-way with ai:error, keeps the partial reply as interrupted, and logs the turn', async () => {
    const c = await conversation('cutter');
    fake.script('openai', { kind: 'cut', afterDeltas: 3 });
    const end = await c.turn('this will be cut');
    expect(end).toMatchObject({ event: 'ai:error', payload: { error: { code: 'unavailable', recoverable: true } } });
    // The log line names the session and the turn, so one turn's story can be followed across replicas.
    expect(t.logs.lines.find((l) => l.msg === 'AI turn failed' && l.sessionId === c.sessionId)).toMatchObject({
      turnId: expect.any(String) as string,
      code: 'unavailable',
    });
    const partial = (await c.messages()).find((m) => m.id === end.payload.messageId);
    expect(partial?.status).toBe('interrupted');
    expect(partial?.content).toBe(c.client.streamedText(end.payload.messageId as string));
    expect(partial?.content).toBe(
      FAKE_TEXT.match(/\S+\s*/g)
        ?.slice(0, 3)
        .join(''),
    );
  });

  it('OpenAI: an error sent inside the stream ends the turn with ai:error and keeps the deltas before it', async () => {
    const c = await conversation('cutter');
    fake.script('openai', { kind: 'error-event', afterDeltas: 2 });
    const end = await c.turn('this will fail mid-way');
    expect(end).toMatchObject({
      event: 'ai:error',
      payload: { error: { code: 'unavailable', recoverable: true } },
    });
    const partial = (await c.messages()).find((m) => m.id === end.payload.messageId);
    expect(partial?.status).toBe('interrupted');
    expect(partial?.content).toBe(
      FAKE_TEXT.match(/\S+\s*/g)
        ?.slice(0, 2)
        .join(''),
    );
  });

  it('OpenAI: ends the reply at [DONE] and still reads the body to its end, so the connection is not cut', async () => {
    const c = await conversation('gpt');
    fake.script('openai', { kind: 'ok', lingerMs: 300 });
    const end = await c.turn('done early');
    expect(end.event).toBe('ai:end');
    const upstream = fake.of('openai').at(-1);
    // The reply ended while the upstream still held its response open.
    expect(upstream?.closed).toBe(false);
    await waitFor(() => upstream?.closed, { timeoutMs: 5000, what: 'the upstream response to close' });
    expect(upstream?.aborted).toBe(false);
  });

  it('opens the circuit after its threshold, then fails fast without calling the provider', async () => {
    const c = await conversation('fragile');
    fake.script('openai', ...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 500 })));
    expect((await c.turn('one')).event).toBe('ai:error');
    expect((await c.turn('two')).event).toBe('ai:error');
    const calls = fake.requests.filter((r) => r.path.startsWith('/fragile')).length;
    expect(calls).toBe(3);
    const third = await c.turn('three');
    expect(third).toMatchObject({ event: 'ai:error', payload: { error: { code: 'unavailable' } } });
    expect(fake.requests.filter((r) => r.path.startsWith('/fragile')).length).toBe(calls);
  });

  it('aborts the upstream request when the user stops mid-stream', async () => {
    const c = await conversation('stopper');
    fake.script('openai', { kind: 'endless', intervalMs: 20 });
    await c.client.ok('message:send', {
      sessionId: c.sessionId,
      clientMessageId: randomUUID(),
      content: 'go on forever',
    });
    await c.client.waitForEvent('ai:delta');
    const upstream = fake.of('openai').at(-1);
    await c.client.ok('message:stop', { sessionId: c.sessionId });
    expect(await c.client.waitForEvent('ai:end')).toMatchObject({ finishReason: 'stopped' });
    await waitFor(() => upstream?.aborted, { what: 'the fake to see the request aborted' });
  });

  it('ends a turn whose first token is too slow with exactly one ai:error', async () => {
    const c = await conversation('slowpoke');
    fake.script('openai', { kind: 'slow', firstTokenDelayMs: 3000 }, { kind: 'slow', firstTokenDelayMs: 3000 });
    const end = await c.turn('slow start');
    expect(end).toMatchObject({ event: 'ai:error', payload: { error: { code: 'timeout' } } });
    expect(c.client.named('ai:error')).toHaveLength(1);
    expect(c.client.named('ai:end')).toHaveLength(0);
  });

  it('ends a never-ending stream at the turn timeout with exactly one ai:error, keeping the partial reply', async () => {
    const c = await conversation('forever');
    fake.script('openai', { kind: 'endless', intervalMs: 50 });
    const end = await c.turn('never stop');
    expect(end).toMatchObject({ event: 'ai:error', payload: { error: { code: 'timeout' } } });
    expect(c.client.named('ai:error')).toHaveLength(1);
    expect(c.client.named('ai:end')).toHaveLength(0);
    const partial = (await c.messages()).find((m) => m.id === end.payload.messageId);
    expect(partial?.status).toBe('interrupted');
  });

  it('tells clients the models and the default on connect; model:select takes configured ids only and persists', async () => {
    const c = await conversation('gpt');
    expect(c.client.named('models')[0]).toMatchObject({
      defaultModelId: 'gpt',
      models: expect.arrayContaining([{ id: 'claude', name: 'Claude' }]) as unknown,
    });
    expect(await c.client.call('model:select', { sessionId: c.sessionId, modelId: 'gpt-4' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_payload' },
    });
    expect(await c.client.ok('model:select', { sessionId: c.sessionId, modelId: 'claude' })).toMatchObject({
      modelId: 'claude',
    });
    const before = fake.of('anthropic').length;
    const end = await c.turn('which model?');
    expect(fake.of('anthropic').length).toBe(before + 1);
    expect((await c.messages()).find((m) => m.id === end.payload.messageId)?.model).toBe('claude');
    const { session } = await c.client.ok<{ session: { modelId: string } }>('session:resume', {
      sessionId: c.sessionId,
    });
    expect(session.modelId).toBe('claude');
  });

  it('transcribes with the TRANSCRIPTION_MODEL, a transcription-only model that clients are not offered', async () => {
    const c = await conversation('gpt');
    const offered = c.client.named('models')[0] as { models: { id: string }[] };
    expect(offered.models.map((m) => m.id)).not.toContain('whisper');
    const llm = t.app.get(LlmService);
    expect(llm.transcriptionConfigured).toBe(true);
    const text = await llm.transcribeVoice(
      Buffer.from('RIFF....WAVEfmt '),
      'note.wav',
      'audio/wav',
      new AbortController().signal,
    );
    expect(text).toBe(FAKE_TRANSCRIPT);
    expect(fake.of('transcription').at(-1)?.form?.fields).toEqual({ model: 'whisper-1' });
  });
});
