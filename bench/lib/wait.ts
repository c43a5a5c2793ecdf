export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Named in the error when the deadline passes. */
  what: string;
}

/** Polls a condition until it holds or the deadline passes. */
export async function waitFor<T>(
  condition: () => Promise<T | false | undefined> | T | false | undefined,
  { timeoutMs, intervalMs = 50, what }: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== false && value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await delay(intervalMs);
  }
}

/** A measurement interval (never a substitute for waiting on an event). */
export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
