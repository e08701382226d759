import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { DEFAULT_MAX_IN_FLIGHT } from '../load/load-generator.js';
import { parseInteger } from './parse.js';

/** Closed-model workers when neither `--concurrency` nor `--rate` is given. */
export const DEFAULT_CONCURRENCY = 16;
/** Highest `--rate` (req/s): well past what one loopback machine sustains. */
export const MAX_RATE = 1_000_000;
/** Most `--requests`. */
export const MAX_REQUESTS = 1_000_000_000;

/** Raw load-model flags as commander hands them over. `concurrency` has no commander default, so that giving it with `--rate` can be told apart. */
export type LoadModelFlags = { concurrency?: string; rate?: string; maxInFlight?: string; requests?: string };

/**
 * What the load-model flags ask for (see `LoadConfig`): the closed model's
 * `concurrency`, or with `rate` (req/s) the open model and its in-flight cap;
 * `requests` ends the run after that many completed requests.
 */
export type LoadModel = { concurrency: number; rate?: number; maxInFlight?: number; requests?: number };

/** Adds `--rate --max-in-flight --requests` (used by `load` and `start`; `--concurrency` is declared by each command). */
export function addLoadModelOptions(cmd: Command): Command {
  return cmd
    .option('--rate <req/s>', 'open model: send this many requests per second on a fixed schedule, whatever the responses do (not with --concurrency)')
    .option('--max-in-flight <n>', `open model: most requests outstanding at once (default ${DEFAULT_MAX_IN_FLIGHT}); a request due at the cap waits for a slot and is counted`)
    .option('--requests <n>', 'stop after this many requests have completed (with --duration: whichever comes first; without it, no time limit)');
}

/**
 * Validates the load-model flags.
 * @throws {UsageError} naming the flag: `--rate` together with
 * `--concurrency`, a `--rate` that is not a positive number up to
 * {@link MAX_RATE}, `--max-in-flight` without `--rate` or out of 1…100 000,
 * `--requests` not a whole number from 1.
 */
export function parseLoadModelOptions(o: LoadModelFlags): LoadModel {
  if (o.rate !== undefined && o.concurrency !== undefined) {
    throw new UsageError(
      `Expected \`--rate\` (open model: requests on a schedule) or \`--concurrency\` (closed model: workers), not both, got --rate ${o.rate} and --concurrency ${o.concurrency}`,
    );
  }
  if (o.maxInFlight !== undefined && o.rate === undefined) {
    throw new UsageError('Expected `--max-in-flight` only with `--rate` (the closed model is bounded by `--concurrency`), got it alone');
  }
  const requests = o.requests === undefined ? undefined : parseInteger('--requests', o.requests, 1, MAX_REQUESTS);
  if (o.rate === undefined) {
    return { concurrency: parseInteger('--concurrency', o.concurrency ?? String(DEFAULT_CONCURRENCY), 1, 4096), ...(requests !== undefined ? { requests } : {}) };
  }
  return {
    concurrency: DEFAULT_CONCURRENCY,
    rate: parseRate('--rate', o.rate),
    maxInFlight: o.maxInFlight === undefined ? DEFAULT_MAX_IN_FLIGHT : parseInteger('--max-in-flight', o.maxInFlight, 1, 100_000),
    ...(requests !== undefined ? { requests } : {}),
  };
}

/**
 * Parses a rate in requests per second: a positive number (decimals allowed,
 * `0.5` = one request every 2 s) up to {@link MAX_RATE}; `2000/s` reads too.
 * @throws {UsageError} naming `flag` otherwise.
 */
export function parseRate(flag: string, value: string): number {
  const m = /^\s*(\d+\.?\d*|\.\d+)\s*(?:\/s)?\s*$/.exec(value);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0 || n > MAX_RATE) {
    throw new UsageError(`Expected \`${flag}\` to be requests per second, a number above 0 and at most ${MAX_RATE} like 2000, got ${JSON.stringify(value)}`);
  }
  return n;
}
