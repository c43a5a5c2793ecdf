import { Injectable } from '@nestjs/common';
import { AppError } from '../common/errors/app-error';
import { AppConfig } from '../config/app-config';
import { LlmProvider, ModelDefinition, StreamEvent, StreamRequest } from './llm-provider';
import { DemoLlmProvider } from './providers/demo-llm.provider';

export const DEMO_MODEL: ModelDefinition = { id: 'demo', name: 'Demo (no provider configured)', provider: 'demo' };

/** The configured models and the provider behind each. */
@Injectable()
export class LlmService {
  private readonly providers: Map<string, LlmProvider>;
  private readonly models: ModelDefinition[] = [DEMO_MODEL];

  constructor(config: AppConfig) {
    this.providers = new Map([['demo', new DemoLlmProvider(config.chat.demoDeltaIntervalMs)]]);
  }

  listModels(): { models: { id: string; name: string }[]; defaultModelId: string } {
    return { models: this.models.map(({ id, name }) => ({ id, name })), defaultModelId: this.defaultModelId };
  }

  get defaultModelId(): string {
    return this.models[0].id;
  }

  model(id: string): ModelDefinition {
    const model = this.models.find((m) => m.id === id);
    if (!model) throw new AppError('invalid_payload', `Unknown model "${id}"`);
    return model;
  }

  stream(request: StreamRequest): AsyncIterable<StreamEvent> {
    const provider = this.providers.get(request.model.provider);
    if (!provider) throw new AppError('unavailable', `No provider for model "${request.model.id}"`);
    return provider.stream(request);
  }
}
