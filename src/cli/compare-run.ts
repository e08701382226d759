import { renderComparison, summarizeRun, type Comparison, type KeysMoved } from '../report/comparison.js';
import { formatProgressLine } from '../session/progress-line.js';
import type { RunScenario } from '../scenario/scenario.js';
import { RunSession } from '../session/run-session.js';
import { REMOVE_SETTLE_MS, type ComparePlan } from './compare-command.js';
import { checkClientAddresses } from '../load/client-addresses.js';
import { untilSignal, writeOut } from './output.js';

/**
 * Runs `lblab compare`: each algorithm in turn on fresh backends (a whole
 * `start` run, headless), then prints the comparison table (or JSON) on
 * stdout. Progress lines go to stderr. Ctrl-C or SIGTERM ends the run under
 * way and prints what was measured so far, marked partial.
 * @throws {RuntimeError} (from errors.js) when a run fails or `--out` cannot be written.
 */
export async function runCompare(plan: ComparePlan, out: { json?: boolean; out?: string }): Promise<void> {
  const first = plan.runs[0]!;
  if (first.clients !== undefined) await checkClientAddresses(first.clients, first.spreadClients);
  let current: RunSession | undefined;
  let interrupted = false;
  void untilSignal(() => {
    interrupted = true;
    current?.quit();
  });
  const results: Comparison['results'] = [];
  let failure: Error | undefined;
  for (const [i, config] of plan.runs.entries()) {
    if (interrupted) break;
    const session = new RunSession(config);
    current = session;
    const label = `[${i + 1}/${plan.runs.length}] ${config.algo}`;
    try {
      await session.start();
    } catch (err) {
      await session.abort();
      // Runs already measured are still printed; then the failure.
      failure = err as Error;
      break;
    }
    if (interrupted) {
      // Ctrl-C while this run was starting: it measured nothing worth a column.
      await session.abort();
      break;
    }
    process.stderr.write(`lblab compare ${label}: ${config.backends.length} backends, concurrency ${config.concurrency}, ${config.durationMs / 1000}s\n`);
    session.onEvent = (e) => process.stderr.write(`${label}  ${e.type}${e.target ? ` ${e.target}` : ''}${e.detail ? `  ${e.detail}` : ''}\n`);
    const ticker = setInterval(() => process.stderr.write(`${label} ${formatProgressLine(session.snapshot())}\n`), 1000);
    const stopWatching = plan.remove !== undefined ? watchRemoval(session, Math.round(config.durationMs / 2)) : undefined;
    await session.untilQuit();
    clearInterval(ticker);
    stopWatching?.();
    const record = await session.finish();
    const keysMoved = plan.remove !== undefined ? keysMovedBy(session, plan.remove) : undefined;
    results.push(summarizeRun(record, session.load.clientTally.backendsPerClient(0), keysMoved, config.clients !== undefined && config.clients > 1));
    if (session.failure) {
      failure = session.failure;
      break;
    }
  }
  current = undefined;
  const comparison: Comparison = {
    schemaVersion: 1,
    partial: interrupted || results.length < plan.runs.length,
    scenario: scenarioOf(first, plan.durationMs, plan.remove),
    results,
  };
  const json = JSON.stringify(comparison, null, 2) + '\n';
  await writeOut(out.out, json);
  process.stdout.write(out.json ? json : renderComparison(comparison));
  if (failure) throw failure;
}

/** The scenario line of a comparison: the first run's backends, load and events (every run shares them). */
export function scenarioOf(first: RunScenario, durationMs: number, remove?: string): Comparison['scenario'] {
  return {
    backends: first.backends.map((b, i) => ({ name: b.name, weight: first.weights[i]!, latency: b.latency, capacity: Number.isFinite(b.capacity) ? b.capacity : null, errorRate: b.errorRate })),
    concurrency: first.concurrency,
    durationMs,
    ...(first.clients !== undefined ? { clients: first.clients } : {}),
    ...(remove !== undefined ? { remove } : {}),
    events: first.events.map((e) => ({ ...e })),
  };
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
    setTimeout(() => session.load.startClientEpoch(at), Math.max(0, at - session.nowMs()) + 150),
  );
  return () => timers.forEach((t) => clearTimeout(t));
}

/**
 * Keys moved by removing backend `removed` from a finished session that
 * {@link watchRemoval} watched; undefined when the run ended before the new
 * mapping settled.
 */
export function keysMovedBy(session: RunSession, removed: string): KeysMoved | undefined {
  const tally = session.load.clientTally;
  return tally.epochs.length > 2 ? countMoved(tally, removed, removedWeightShare(session.config, removed)) : undefined;
}

/**
 * Keys moved by the removal: per virtual client, the backend that served
 * most of its requests before (epoch 0) against once settled after it
 * (epoch 2); clients seen in both count.
 */
function countMoved(tally: RunSessionTally, removed: string, idealFraction: number): KeysMoved {
  let clients = 0;
  let moved = 0;
  let movedFromKept = 0;
  let ownClients = 0;
  for (const client of tally.epochs[0]!.perClient.keys()) {
    const before = tally.dominantBackend(0, client);
    const after = tally.dominantBackend(2, client);
    if (before === undefined || after === undefined) continue;
    clients++;
    if (before === removed) ownClients++;
    if (before !== after) {
      moved++;
      if (before !== removed) movedFromKept++;
    }
  }
  return { removed, clients, moved, movedFraction: clients > 0 ? moved / clients : 0, movedFromKept, ownClients, idealFraction };
}

/** The removed backend's share of the total weight: the least share of keys that must move. */
function removedWeightShare(config: RunScenario, removed: string): number {
  const total = config.weights.reduce((a, b) => a + b, 0);
  return config.weights[config.backends.findIndex((b) => b.name === removed)]! / total;
}

type RunSessionTally = RunSession['load']['clientTally'];
