import { ModelConfig } from '../../config/llm-models';

/** One SDK client per endpoint and key, created on first use. */
export class ClientCache<T> {
  private readonly clients = new Map<string, T>();

  constructor(private readonly create: (model: ModelConfig) => T) {}

  for(model: ModelConfig): T {
    const key = `${model.baseUrl ?? ''}\n${model.apiKey ?? ''}`;
    let client = this.clients.get(key);
    if (!client) {
      client = this.create(model);
      this.clients.set(key, client);
    }
    return client;
  }
}
