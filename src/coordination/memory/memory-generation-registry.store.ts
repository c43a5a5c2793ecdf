import { EventEmitter } from 'node:events';
import { GenerationRegistryStore } from '../generation-registry.store';

export class MemoryGenerationRegistryStore extends GenerationRegistryStore {
  private readonly claims = new Map<string, { owner: string; expiresAt: number }>();
  private readonly stops = new EventEmitter();

  claim(sessionId: string, owner: string, ttlMs: number): Promise<boolean> {
    const current = this.claims.get(sessionId);
    if (current && current.expiresAt > Date.now()) return Promise.resolve(false);
    this.claims.set(sessionId, { owner, expiresAt: Date.now() + ttlMs });
    return Promise.resolve(true);
  }

  renew(sessionId: string, owner: string, ttlMs: number): Promise<boolean> {
    const current = this.claims.get(sessionId);
    if (current?.owner !== owner) return Promise.resolve(false);
    current.expiresAt = Date.now() + ttlMs;
    return Promise.resolve(true);
  }

  release(sessionId: string, owner: string): Promise<void> {
    if (this.claims.get(sessionId)?.owner === owner) this.claims.delete(sessionId);
    return Promise.resolve();
  }

  requestStop(sessionId: string): Promise<void> {
    this.stops.emit('stop', sessionId);
    return Promise.resolve();
  }

  onStop(handler: (sessionId: string) => void): void {
    this.stops.on('stop', handler);
  }
}
