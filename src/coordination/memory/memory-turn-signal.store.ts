import { EventEmitter } from 'node:events';
import { StopSignal, TurnSignalStore } from '../turn-signal.store';

export class MemoryTurnSignalStore extends TurnSignalStore {
  private readonly stops = new EventEmitter();

  publishStop(signal: StopSignal): Promise<void> {
    this.stops.emit('stop', signal);
    return Promise.resolve();
  }

  onStop(handler: (signal: StopSignal) => void): Promise<void> {
    this.stops.on('stop', handler);
    return Promise.resolve();
  }
}
