import { RuntimeError, ThresholdFailedError } from '../errors.js';
import type { RunRecord } from '../metrics/run-record.js';
import type { ErrorKind } from '../metrics/traffic-stats.js';
import { formatCount, formatPct } from '../report/format.js';

/** Each transport error kind of the record as a sentence names it. */
const KIND_WORDS: Readonly<Record<ErrorKind, string>> = {
  refused: 'connection refused',
  reset: 'connection reset',
  timeout: 'timed out',
  other: 'not valid HTTP',
};

/**
 * Judges a finished `lblab load` run by its totals, after its report and
 * `--out` are written, as a CI step reads it (k6 thresholds, autocannon's
 * non-2xx count): {@link checkGotResponses}, then {@link checkErrorRate}.
 * @throws {RuntimeError} when no request got a response.
 * @throws {ThresholdFailedError} when the error rate is above `failOnErrors`.
 */
export function checkLoadOutcome(totals: RunRecord['totals'], failOnErrors: number | undefined): void {
  checkGotResponses(totals);
  checkErrorRate(totals, failOnErrors);
}

/**
 * A run where no request got a response (every completed request a
 * transport error, or none completed) failed: {@link RuntimeError} (exit 1)
 * "no request got a response: connection refused 12 000 of 12 000", the
 * kinds of `totals.errorKinds` largest first.
 * @throws {RuntimeError} when no request got a response.
 */
export function checkGotResponses(totals: RunRecord['totals']): void {
  const responses = Object.values(totals.statusCodes).reduce((sum, n) => sum + n, 0);
  if (responses > 0) return;
  if (totals.requests === 0) throw new RuntimeError('no request got a response: none completed before the run ended');
  const kinds = (Object.entries(totals.errorKinds) as Array<[ErrorKind, number]>)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => `${KIND_WORDS[kind] ?? kind} ${formatCount(n)}`);
  throw new RuntimeError(`no request got a response: ${kinds.join(', ')} of ${formatCount(totals.requests)}`);
}

/**
 * `--fail-on-errors`: with `failOnErrors` (a fraction 0…1) given and the
 * error rate `totals.errors ÷ totals.requests` (5xx and transport errors)
 * above it, {@link ThresholdFailedError} (exit 3) naming the measured rate
 * and the threshold, as a k6 threshold `rate<…` fails a run. Nothing when
 * `failOnErrors` is undefined or no request completed.
 * @throws {ThresholdFailedError} when the error rate is above `failOnErrors`.
 */
export function checkErrorRate(totals: RunRecord['totals'], failOnErrors: number | undefined): void {
  if (failOnErrors === undefined || totals.requests === 0) return;
  const rate = totals.errors / totals.requests;
  if (rate > failOnErrors) {
    throw new ThresholdFailedError(
      `error rate ${formatPct(rate, 2)} (${formatCount(totals.errors)} of ${formatCount(totals.requests)}) is above --fail-on-errors ${failOnErrors} (${formatPct(failOnErrors, 2)})`,
    );
  }
}
