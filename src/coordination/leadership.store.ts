/** One holder of a named role across replicas at a time, for as long as it keeps renewing. */
export abstract class LeadershipStore {
  /** Takes or renews the role for `ttlMs`; true while this holder has it. */
  abstract hold(role: string, holder: string, ttlMs: number): Promise<boolean>;
  abstract release(role: string, holder: string): Promise<void>;
}
