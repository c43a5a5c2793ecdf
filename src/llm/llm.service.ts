import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge } from 'prom-client';
import { AppError } from '../common/errors/app-error';
import { AppConfig, LlmConfig } from '../config/app-config';
import { ModelConfig } from '../config/llm-models';
import { LLM_CIRCUIT_OPEN, LLM_FALLBACKS, LLM_REQUESTS, LLM_TOKENS } from '../metrics/chatbox.metrics';
import { CircuitBreaker } from './circuit-breaker';
import { LlmError } from './llm.errors';
import { LlmProvider, PromptMessage, StreamEvent } from './llm-provider';
import { toModelMessages, withNotes } from './model-messages';
import { estimateTokens } from './prompt-builder';
import { AnthropicLlmProvider } from './providers/anthropic-llm.provider';
import { DemoLlmProvider } from './providers/demo-llm.provider';
import { DifyLlmProvider } from './providers/dify-llm.provider';
import { OpenAiLlmProvider } from './providers/openai-llm.provider';

/** A provider endpoint's circuit opened (`closed` false) or closed again. */
export interface CircuitChange {
  provider: string;
  /** `<provider>:<baseUrl>`: one circuit per endpoint. */
  endpoint: string;
  /** The model whose request changed it. */
  modelId: string;
  closed: boolean;
}

const endpointOf = (model: ModelConfig) => `${model.provider}:${model.baseUrl ?? 'default'}`;

export interface TurnRequest {
  modelId: string;
  messages: PromptMessage[];
  userId: string;
  sessionId: string;
  conversationId?: string;
  /** The session may hand off now: each model of the chain configured with `handoff` is offered the tool. */
  offerHandoff?: boolean;
  signal: AbortSignal;
}

/** What a turn streams: the provider's events, preceded by the model that is answering. */
export type TurnEvent = StreamEvent | { type: 'model'; model: ModelConfig };

type TimeoutReason = 'first_delta_timeout' | 'idle_timeout' | 'turn_timeout';
const TIMEOUT_REASONS: ReadonlySet<unknown> = new Set(['first_delta_timeout', 'idle_timeout', 'turn_timeout']);

/**
 * The configured models and the resilience around every provider: retries with backoff before the
 * first delta (honouring Retry-After), first-delta, idle and whole-turn timeouts, the fallback chain,
 * and a circuit breaker per provider endpoint. Adapters only translate wire formats.
 */
@Injectable()
export class LlmService {
  private readonly logger = new Logger(LlmService.name);
  private readonly config: LlmConfig;
  private readonly providers: Record<ModelConfig['provider'], LlmProvider>;
  // Transcription is OpenAI's /audio/transcriptions: configuration lets only openai models transcribe.
  private readonly openAi = new OpenAiLlmProvider();
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly circuitListeners: ((change: CircuitChange) => void)[] = [];

  constructor(
    appConfig: AppConfig,
    @InjectMetric(LLM_REQUESTS) private readonly requests: Counter<string>,
    @InjectMetric(LLM_TOKENS) private readonly tokens: Counter<string>,
    @InjectMetric(LLM_FALLBACKS) private readonly fallbacks: Counter<string>,
    @InjectMetric(LLM_CIRCUIT_OPEN) private readonly circuitOpen: Gauge<string>,
  ) {
    this.config = appConfig.llm;
    this.providers = {
      openai: this.openAi,
      anthropic: new AnthropicLlmProvider(),
      dify: new DifyLlmProvider(),
      demo: new DemoLlmProvider(appConfig.chat.demoDeltaIntervalMs),
    };
  }

  listModels(): { models: { id: string; name: string }[]; defaultModelId: string } {
    return { models: this.config.models.map(({ id, name }) => ({ id, name })), defaultModelId: this.defaultModelId };
  }

  get defaultModelId(): string {
    return this.config.defaultModelId;
  }

  model(id: string): ModelConfig {
    const model = this.config.models.find((m) => m.id === id);
    if (!model) throw new AppError('invalid_payload', `Unknown model "${id}"`);
    return model;
  }

  /** The session's model, or the default one if the configuration no longer has it. */
  modelOrDefault(id: string): ModelConfig {
    return this.config.models.find((m) => m.id === id) ?? this.model(this.defaultModelId);
  }

  /** The model, then its fallbacks (and theirs), each once. */
  private chain(id: string): ModelConfig[] {
    const chain: ModelConfig[] = [];
    const visit = (modelId: string) => {
      if (chain.some((m) => m.id === modelId)) return;
      const model = this.model(modelId);
      chain.push(model);
      model.fallback.forEach(visit);
    };
    visit(id);
    return chain;
  }

  private breakerFor(model: ModelConfig): CircuitBreaker {
    const key = endpointOf(model);
    let breaker = this.breakers.get(key);
    if (!breaker) {
      breaker = new CircuitBreaker(this.config.breaker);
      this.breakers.set(key, breaker);
    }
    return breaker;
  }

  async *streamTurn(request: TurnRequest): AsyncGenerator<TurnEvent> {
    // Stopped before it began (a stop during the prompt's preparation): no provider is called.
    request.signal.throwIfAborted();
    const deadline = Date.now() + this.config.turnTimeoutMs;
    let lastError = new LlmError('unavailable', 'No model could answer');
    let previous: ModelConfig | undefined;
    for (const model of this.chain(request.modelId)) {
      if (previous) this.fallbacks.inc({ from: previous.id, to: model.id });
      previous = model;
      const breaker = this.breakerFor(model);
      for (let attempt = 0; ; attempt++) {
        if (!breaker.allow()) {
          this.requests.inc({ provider: model.provider, model: model.id, outcome: 'circuit_open' });
          lastError = new LlmError('unavailable', `The ${model.provider} provider is failing; its circuit is open`);
          break;
        }
        let delivered = false;
        let usageReported = false;
        let reply = '';
        // Every request the breaker allowed gets exactly one verdict, or a half-open trial would never end.
        let verdict: 'success' | 'failure' | undefined;
        try {
          for await (const event of this.attempt(model, request, deadline)) {
            // The answering model is known before anything it said, a handoff included.
            if ((event.type === 'delta' || event.type === 'handoff') && !delivered) {
              delivered = true;
              yield { type: 'model', model };
            }
            if (event.type === 'delta') reply += event.text;
            if (event.type === 'end' && !usageReported) {
              // Only when the provider reported none, and then marked as an estimate.
              const prompt = request.messages.map((m) => withNotes(m.content, m.attachments));
              const promptTokens = estimateTokens(prompt.join('\n'));
              yield* this.countUsage(model, {
                type: 'usage',
                promptTokens,
                completionTokens: estimateTokens(reply),
                estimated: true,
              });
            }
            if (event.type === 'usage') {
              usageReported = true;
              yield* this.countUsage(model, event);
            } else yield event;
          }
          if (!delivered) yield { type: 'model', model };
          verdict = 'success';
          this.requests.inc({ provider: model.provider, model: model.id, outcome: 'success' });
          return;
        } catch (error) {
          if (request.signal.aborted) {
            // Deltas arrived, so the endpoint works, whatever stopped the reply.
            if (delivered) verdict = 'success';
            throw error;
          }
          const failure = error as LlmError;
          this.requests.inc({ provider: model.provider, model: model.id, outcome: failure.code });
          // A refusal (bad request, auth, content filter) is an answer: the endpoint is up.
          verdict = failure.retryable ? 'failure' : 'success';
          // After the first delta, or past the turn's deadline, nothing may be retried: the caller keeps the partial reply.
          if (delivered || !failure.retryable || Date.now() >= deadline) throw failure;
          lastError = failure;
        } finally {
          this.record(model, breaker, verdict);
        }
        if (attempt >= this.config.maxRetries) break;
        const failure = lastError;
        const backoff = failure.retryAfterMs ?? this.config.retryBaseMs * 2 ** attempt * (0.5 + Math.random());
        const wait = Math.min(backoff, this.config.retryMaxDelayMs, deadline - Date.now());
        this.logger.warn(
          { model: model.id, code: failure.code, attempt, waitMs: Math.round(wait) },
          'LLM request failed; retrying',
        );
        await sleep(wait, undefined, { signal: request.signal });
      }
    }
    throw lastError;
  }

  private record(model: ModelConfig, breaker: CircuitBreaker, verdict: 'success' | 'failure' | undefined): void {
    const wasClosed = breaker.state === 'closed';
    if (verdict === 'success') breaker.success();
    else if (verdict === 'failure') breaker.failure();
    else breaker.aborted();
    const closed = breaker.state === 'closed';
    this.circuitOpen.set({ provider: model.provider }, closed ? 0 : 1);
    if (wasClosed !== closed) {
      const change: CircuitChange = {
        provider: model.provider,
        endpoint: endpointOf(model),
        modelId: model.id,
        closed,
      };
      for (const listener of this.circuitListeners) listener(change);
    }
  }

  /** Told when a provider endpoint's circuit opens (it keeps failing) or closes again, on this replica. */
  onCircuitChange(listener: (change: CircuitChange) => void): void {
    this.circuitListeners.push(listener);
  }

  private *countUsage(model: ModelConfig, usage: Extract<StreamEvent, { type: 'usage' }>): Generator<StreamEvent> {
    this.tokens.inc({ provider: model.provider, model: model.id, kind: 'prompt' }, usage.promptTokens);
    this.tokens.inc({ provider: model.provider, model: model.id, kind: 'completion' }, usage.completionTokens);
    yield usage;
  }

  /** One request to one provider, under the first-delta, idle and whole-turn timers. */
  private async *attempt(model: ModelConfig, request: TurnRequest, deadline: number): AsyncGenerator<StreamEvent> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(request.signal.reason);
    request.signal.addEventListener('abort', onAbort, { once: true });
    // An abort during a retry's backoff fired before this listener existed.
    if (request.signal.aborted) onAbort();
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number, reason: TimeoutReason) => {
      clearTimeout(timer);
      const left = deadline - Date.now();
      timer = setTimeout(() => controller.abort(ms < left ? reason : 'turn_timeout'), Math.max(0, Math.min(ms, left)));
    };
    arm(this.config.firstDeltaTimeoutMs, 'first_delta_timeout');
    try {
      const offerHandoff = Boolean(request.offerHandoff) && model.handoff;
      const stream = this.providers[model.provider].stream({
        ...request,
        messages: toModelMessages(request.messages, model, this.config.visionMaxImages),
        model,
        offerHandoff,
        signal: controller.signal,
      });
      for await (const event of stream) {
        if (event.type === 'delta') arm(this.config.idleTimeoutMs, 'idle_timeout');
        yield event;
      }
    } catch (error) {
      if (request.signal.aborted) throw error;
      const reason: unknown = controller.signal.reason;
      if (controller.signal.aborted && TIMEOUT_REASONS.has(reason)) {
        throw new LlmError('timeout', `The model did not answer in time (${String(reason).replace(/_/g, ' ')})`);
      }
      if (error instanceof LlmError) throw error;
      throw new LlmError('unavailable', `The model's stream failed: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
      request.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Whether voice notes can be transcribed: TRANSCRIPTION_MODEL names a model. */
  get transcriptionConfigured(): boolean {
    return this.config.transcriptionModel !== undefined;
  }

  /**
   * A voice note's text, from the TRANSCRIPTION_MODEL, within the whole-turn timeout: a failure worth
   * another attempt is retried like a turn's (LLM_MAX_RETRIES, backoff honouring Retry-After).
   */
  async transcribeVoice(audio: Buffer, filename: string, mimeType: string, signal: AbortSignal): Promise<string> {
    const model = this.config.transcriptionModel;
    if (!model) throw new LlmError('bad_request', 'Voice transcription is not configured (TRANSCRIPTION_MODEL)');
    const deadline = Date.now() + this.config.turnTimeoutMs;
    const timeout = AbortSignal.timeout(this.config.turnTimeoutMs);
    const both = AbortSignal.any([signal, timeout]);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.openAi.transcribe({ model, audio, filename, mimeType, signal: both });
      } catch (error) {
        if (timeout.aborted && !signal.aborted)
          throw new LlmError('timeout', 'The transcription did not finish in time');
        if (signal.aborted || !(error instanceof LlmError) || !error.retryable) throw error;
        if (attempt >= this.config.maxRetries || Date.now() >= deadline) throw error;
        const backoff = error.retryAfterMs ?? this.config.retryBaseMs * 2 ** attempt * (0.5 + Math.random());
        const wait = Math.min(backoff, this.config.retryMaxDelayMs, deadline - Date.now());
        this.logger.warn(
          { model: model.id, code: error.code, attempt, waitMs: Math.round(wait) },
          'transcription failed; retrying',
        );
        await sleep(wait, undefined, { signal: both }).catch((abort: unknown) => {
          throw timeout.aborted && !signal.aborted
            ? new LlmError('timeout', 'The transcription did not finish in time')
            : abort;
        });
      }
    }
  }
}
