import { byTime, type RunEvent, type RunRecord } from '../metrics/run-record.js';
import type { Marker } from './blocks.js';

/**
 * Events a learner or a lab caused (kill, restart, faults, drain, weight,
 * algorithm, load changes), as opposed to the balancer's reactions to them
 * (DOWN/UP, ejections, breaker changes), which the health timeline shows.
 */
const REACTIONS: ReadonlySet<string> = new Set([
  'up',
  'down',
  'started',
  'ejected',
  'readmitted',
  'breaker-open',
  'breaker-half-open',
  'breaker-closed',
  'drained',
  'slow-start',
  'slow-start-done',
  'panic',
  'panic-over',
  'error',
]);

const MARKER_KEYS = '123456789abcdefghijklmnopqrstuvwxyz';

/** An event to mark on a time chart: when (ms since the run started) and what it says (`kill b2`). */
export type TimedEvent = { atMs: number; label: string };

/** The events worth marking on the time charts, in time order, each with its key (1-9, a-z, then `+`). */
export function eventMarkers(r: RunRecord): TimedEvent[] {
  return r.events
    .filter((e) => !REACTIONS.has(e.type) && e.atMs <= r.durationMs)
    .sort(byTime)
    .map((e) => ({ atMs: e.atMs, label: markerLabel(e) }));
}

/** Events whose detail says what changed to: `algo round-robin → least-conn`, `weight b1 1 → 5`, `concurrency 32 workers`. */
const DETAILED: ReadonlySet<string> = new Set(['algo', 'weight', 'concurrency']);

/** What a marker says: the event and its backend, plus the new value of a setting change (its detail without the `(source)`). */
function markerLabel(e: RunEvent): string {
  const base = `${e.type}${e.target ? ` ${e.target}` : ''}`;
  if (!DETAILED.has(e.type) || !e.detail) return base;
  const what = e.detail.replace(/\s*\([^)]*\)$/, '').replace(/^weight /, '');
  return what ? `${base} ${what}` : base;
}

/**
 * Places events on a chart of `cells` cells of `cellMs` ms from `startMs`
 * (ms since the run started), left out when they fall outside it. Keys go by
 * position in `events` (1-9, a-z, then `+`), so a chart of one event's
 * window, given just that event, marks it `1`.
 */
export function placeMarkers(events: readonly TimedEvent[], startMs: number, cellMs: number, cells: number): Marker[] {
  const out: Marker[] = [];
  events.forEach((e, i) => {
    const cell = Math.floor((e.atMs - startMs) / cellMs);
    if (cell < 0 || cell >= cells) return;
    out.push({ key: MARKER_KEYS[i] ?? '+', atMs: e.atMs, cell, label: e.label });
  });
  return out;
}
