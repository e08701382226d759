import type { BackendsPerClient } from '../load/client-tally.js';
import { countKeysMoved, REMOVE_SETTLE_MS, type KeysMoved } from '../metrics/keys-moved.js';
import type { RunRecord } from '../metrics/run-record.js';
import type { RunScenario } from '../scenario/scenario.js';
import { RunSession } from './run-session.js';

/** One run of a series: its name, its scenario, and the backend it removes mid-run if any (for keys moved). */
export type SeriesRun = { name: string; scenario: RunScenario; removal?: { target: string; atMs: number } };

/**
 * What one run of a series measured: its record, how many backends each
 * virtual client met before any removal, and the keys moved by its removal.
 */
export type SeriesResult = { name: string; scenario: RunScenario; record: RunRecord; backendsPerClient: BackendsPerClient; keysMoved?: KeysMoved };

/** How a series ended: the runs measured, whether it was interrupted, and the failure that stopped it, if one did. */
export type SeriesOutcome = { results: SeriesResult[]; interrupted: boolean; failure: Error | undefined };

/**
 * Drives one session of a series to its end and returns its record, or
 * undefined when it was interrupted before it measured anything (the
 * session already torn down). `onStarted` must be called once load flows.
 */
export type DriveRun = (session: RunSession, run: SeriesRun, index: number, onStarted: (session: RunSession) => void) => Promise<RunRecord | undefined>;

/**
 * Several scenarios run one after the other, each on fresh backends: the
 * algorithms of `lblab compare`, the runs of a lab. A removal is watched
 * (client epochs around it) and its keys moved counted; {@link interrupt}
 * (Ctrl-C, SIGTERM) ends the run under way and starts no other. How each
 * run is shown is the driver's business.
 */
export class RunSeries {
  private current: RunSession | undefined;
  private interrupted = false;

  /** Whether {@link interrupt} was called (or a run was quit early). */
  get wasInterrupted(): boolean {
    return this.interrupted;
  }

  /** Ends the run under way (its record is still built) and starts no other. */
  interrupt(): void {
    this.interrupted = true;
    this.current?.quit();
  }

  /**
   * Runs `runs` in order with `drive`. A run that ends before its duration
   * (and not because its `requests` were all answered) was quit by the user:
   * the series stops after it, interrupted. A run that fails (or whose
   * session failed) stops it too, with that failure.
   */
  async run(runs: readonly SeriesRun[], drive: DriveRun): Promise<SeriesOutcome> {
    const results: SeriesResult[] = [];
    let failure: Error | undefined;
    for (const [i, run] of runs.entries()) {
      if (this.interrupted) break;
      const session = new RunSession(run.scenario);
      this.current = session;
      let stopWatching: (() => void) | undefined;
      let record: RunRecord | undefined;
      try {
        record = await drive(session, run, i, (s) => {
          if (run.removal) stopWatching = watchRemoval(s, run.removal.atMs);
        });
      } catch (err) {
        failure = err as Error;
        break;
      } finally {
        stopWatching?.();
      }
      if (!record) break;
      const countDone = run.scenario.requests !== undefined && record.totals.requests >= run.scenario.requests;
      if (record.durationMs < run.scenario.durationMs && !countDone) this.interrupted = true;
      // WebSocket clients send no requests: no client tally.
      const tally = session.load?.clientTally;
      const names = run.scenario.backends.map((b) => b.name);
      const keysMoved = run.removal && tally ? countKeysMoved(tally, run.removal.target, names, run.scenario.weights) : undefined;
      results.push({ name: run.name, scenario: run.scenario, record, backendsPerClient: tally?.backendsPerClient(0) ?? { clients: 0, singleBackend: 0, maxBackends: 0 }, ...(keysMoved ? { keysMoved } : {}) });
      if (session.failure) {
        failure = session.failure;
        break;
      }
    }
    this.current = undefined;
    return { results, interrupted: this.interrupted, failure };
  }
}

/**
 * Splits the run's client tally around a removal at `removedAtMs` (ms since
 * the run started) into three epochs: 0 for requests that completed before
 * it (picked under the old mapping for certain), 1 for those sent or in
 * flight during the change, 2 for those sent from {@link REMOVE_SETTLE_MS}
 * after it, once the new mapping has settled. Each is opened a little after
 * its start (samples arrive in batches); the tally moves the samples that
 * belong to it. Returns a function that cancels what is not yet opened.
 */
export function watchRemoval(session: RunSession, removedAtMs: number): () => void {
  const timers = [removedAtMs, removedAtMs + REMOVE_SETTLE_MS].map((at) =>
    setTimeout(() => session.load?.startClientEpoch(at), Math.max(0, at - session.nowMs()) + 150),
  );
  return () => timers.forEach((t) => clearTimeout(t));
}
