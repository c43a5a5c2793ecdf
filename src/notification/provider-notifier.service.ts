import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { CircuitChange, LlmService } from '../llm/llm.service';
import { NotificationService } from './notification.service';

/**
 * Admins hear when an LLM provider endpoint keeps failing (its circuit opened) and when it recovered. Each
 * replica has its own circuits; the outbox keys the event by endpoint and window, so the cluster sends one.
 */
@Injectable()
export class ProviderNotifier implements OnModuleInit {
  private readonly logger = new Logger(ProviderNotifier.name);

  constructor(
    private readonly llm: LlmService,
    private readonly notifications: NotificationService,
  ) {}

  onModuleInit(): void {
    this.llm.onCircuitChange((change) => void this.changed(change));
  }

  private async changed(change: CircuitChange): Promise<void> {
    const event = change.closed ? 'provider.recovered' : 'provider.down';
    this.logger.warn({ provider: change.provider, model: change.modelId }, `LLM provider ${event}`);
    await this.notifications.raise({
      event,
      key: change.endpoint,
      data: { provider: change.provider, detail: `model ${change.modelId}` },
    });
  }
}
