import { Counter, Gauge } from 'prom-client';
import { loadConfig } from '../../src/config/load-config';
import { LlmService, TurnEvent } from '../../src/llm/llm.service';
import { FakeLlmServer } from '../servers/fake-llm-server';
import { waitFor } from '../utils/wait-for';

const COOLDOWN_MS = 30000;

describe(`${LlmService.name} circuit breaker`, () => {
  const fake = new FakeLlmServer();
  let sut: LlmService;
  const calls = () => fake.of('openai').length;

  const turn = async (signal = new AbortController().signal): Promise<TurnEvent[]> => {
    const events: TurnEvent[] = [];
    for await (const event of sut.streamTurn({
      modelId: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      userId: 'u',
      sessionId: 's',
      signal,
    })) {
      events.push(event);
    }
    return events;
  };
  const code = (promise: Promise<unknown>) =>
    promise.then(
      () => 'ok',
      (error: { code?: string }) => error.code,
    );

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());

  beforeEach(() => {
    // Only the clock is faked (the breaker's cooldown); timers, sockets and the fake server run for real.
    jest.useFakeTimers({
      doNotFake: [
        'setTimeout',
        'clearTimeout',
        'setInterval',
        'clearInterval',
        'setImmediate',
        'nextTick',
        'queueMicrotask',
      ],
    });
    jest.setSystemTime(Date.now());
    const config = loadConfig({
      LLM_MODELS: JSON.stringify([
        { id: 'm', provider: 'openai', model: 'fake', baseUrl: `${fake.baseUrl}/v1`, apiKey: 'k' },
      ]),
      LLM_MAX_RETRIES: '0',
      LLM_BREAKER_FAILURES: '1',
      LLM_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
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
  afterEach(() => jest.useRealTimers());

  /** A 500 opens the circuit; after the cooldown the breaker is half-open, its next request the trial. */
  const halfOpen = async () => {
    fake.script('openai', { kind: 'status', status: 500 });
    expect(await code(turn())).toBe('unavailable');
    const before = calls();
    expect(await code(turn())).toBe('unavailable');
    expect(calls()).toBe(before);
    jest.setSystemTime(Date.now() + COOLDOWN_MS + 1);
  };

  it('re-opens when its half-open trial is aborted, and lets the next trial through after another cooldown', async () => {
    await halfOpen();
    fake.script('openai', { kind: 'slow', firstTokenDelayMs: 10000 });
    const trial = new AbortController();
    const before = calls();
    const aborted = code(turn(trial.signal));
    await waitFor(() => calls() === before + 1, { what: 'the trial request' });
    trial.abort('stopped');
    await aborted;
    // Re-opened, not stuck half-open with a trial that will never report back.
    expect(await code(turn())).toBe('unavailable');
    expect(calls()).toBe(before + 1);
    jest.setSystemTime(Date.now() + COOLDOWN_MS + 1);
    expect(await code(turn())).toBe('ok');
    expect(calls()).toBe(before + 2);
    expect(await code(turn())).toBe('ok');
  });

  it('closes when its half-open trial is refused as a bad request: the endpoint answered', async () => {
    await halfOpen();
    fake.script('openai', { kind: 'status', status: 400 });
    expect(await code(turn())).toBe('bad_request');
    const before = calls();
    expect(await code(turn())).toBe('ok');
    expect(calls()).toBe(before + 1);
  });
});
