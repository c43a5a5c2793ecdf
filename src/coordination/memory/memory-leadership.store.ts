import { LeadershipStore } from '../leadership.store';

/** A single instance leads everything it asks for. */
export class MemoryLeadershipStore extends LeadershipStore {
  hold(): Promise<boolean> {
    return Promise.resolve(true);
  }

  release(): Promise<void> {
    return Promise.resolve();
  }
}
