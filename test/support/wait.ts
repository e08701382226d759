import { vi } from 'vitest';

/** How long {@link until} waits and how often it looks, in ms. */
export type UntilOptions = { timeout?: number; interval?: number };

/**
 * Waits until `cond()` holds: vitest's `vi.waitFor`, looking at once and then
 * every `interval` ms (default 10). Rejects after `timeout` ms (default 5000)
 * with `timed out waiting for <what>`, so a failure says what never happened.
 * Starts nothing that outlives it: the poll timers end when it settles.
 */
export async function until(cond: () => boolean, what: string, { timeout = 5000, interval = 10 }: UntilOptions = {}): Promise<void> {
  await vi.waitFor(
    () => {
      if (!cond()) throw new Error(`timed out waiting for ${what}`);
    },
    { timeout, interval },
  );
}
