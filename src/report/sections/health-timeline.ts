import { byTime, unloggedTransitions, type RunRecord } from '../../metrics/run-record.js';
import type { HealthBlock, Section, StripState } from '../blocks.js';
import { cellSizeMs } from '../chart-cells.js';
import { eventMarkers, placeMarkers } from '../event-markers.js';

/** How a backend's balancer-side state evolves: the flags each event sets, and which one shows. */
type Flags = { down: boolean; out: boolean; drain: boolean; removed: boolean };

function stateOf(f: Flags): StripState {
  if (f.removed) return 'removed';
  if (f.down) return 'down';
  if (f.out) return 'out';
  if (f.drain) return 'drain';
  return 'up';
}

/** Applies one event of a backend to its flags; returns whether it touched them. */
function applyEvent(f: Flags, type: string): boolean {
  switch (type) {
    case 'down':
      f.down = true;
      return true;
    case 'up':
      f.down = false;
      return true;
    case 'ejected':
    case 'breaker-open':
    case 'breaker-half-open':
      f.out = true;
      return true;
    case 'readmitted':
    case 'breaker-closed':
      f.out = false;
      return true;
    case 'draining':
    case 'drain':
      f.drain = true;
      return true;
    case 'undrained':
      f.drain = false;
      return true;
    case 'remove':
      f.removed = true;
      return true;
    default:
      return false;
  }
}

/**
 * The balancer's view of each backend over the run: UP, DOWN (active checks),
 * out (ejected or circuit open), draining, removed — from its health
 * transitions and the events on it (a transition not also logged as an
 * event counts as one). A backend starts UP, as the balancer starts it.
 */
export function healthTimelineSection(r: RunRecord): Section | undefined {
  // nginx OSS runs no active checks: there is no health to draw, and drawing UP would invent one.
  if (r.config.engine === 'nginx') {
    return {
      id: 'health',
      title: 'Health',
      subtitle: 'none to show: nginx OSS has no active health checks',
      blocks: [{ kind: 'note', text: 'nginx skips a backend after a failed try (max_fails, fail_timeout) and retries the request elsewhere (proxy_next_upstream); where the traffic went is in Requests per second.' }],
    };
  }
  // `lblab load` runs no health checks: it has no view of a backend's health to draw.
  if (r.config.command === 'load' || r.backends.length === 0 || r.durationMs <= 0) return undefined;
  const seconds = Math.max(1, Math.ceil(r.durationMs / 1000));
  const cellMs = cellSizeMs(seconds);
  const cells = Math.ceil(r.durationMs / cellMs);
  const strips: HealthBlock['strips'] = r.backends.map((b) => {
    const mine = r.events.filter((e) => e.target === b.name && e.atMs <= r.durationMs);
    const ordered = [...mine, ...unloggedTransitions(b.name, mine, b.health.transitions)].sort(byTime);
    const flags: Flags = { down: false, out: false, drain: false, removed: false };
    const changes: HealthBlock['strips'][number]['changes'] = [];
    for (const e of ordered) {
      const before = stateOf(flags);
      if (!applyEvent(flags, e.type)) continue;
      const after = stateOf(flags);
      if (after !== before) changes.push({ atMs: e.atMs, from: before, to: after, reason: e.detail ? `${e.type}: ${e.detail}` : e.type });
    }
    const segments: HealthBlock['strips'][number]['segments'] = [];
    let from = 0;
    let state: StripState = 'up';
    for (const ch of changes) {
      if (ch.atMs > from) segments.push({ fromMs: from, toMs: ch.atMs, state });
      from = Math.max(from, ch.atMs);
      state = ch.to;
    }
    segments.push({ fromMs: from, toMs: r.durationMs, state });
    const dead: Array<{ fromMs: number; toMs: number }> = [];
    let diedAt: number | undefined;
    for (const e of ordered) {
      if ((e.type === 'kill' || e.type === 'exit') && diedAt === undefined) diedAt = e.atMs;
      if (e.type === 'started' && diedAt !== undefined) {
        dead.push({ fromMs: diedAt, toMs: e.atMs });
        diedAt = undefined;
      }
    }
    if (diedAt !== undefined) dead.push({ fromMs: diedAt, toMs: r.durationMs });
    const stripCells = [];
    for (let c = 0; c < cells; c++) {
      const a = c * cellMs;
      const z = Math.min(r.durationMs, (c + 1) * cellMs);
      const inside = changes.filter((ch) => ch.atMs >= a && (ch.atMs < z || (c === cells - 1 && ch.atMs <= z)));
      const last = [...changes].reverse().find((ch) => ch.atMs < z || (c === cells - 1 && ch.atMs <= z));
      const state = last ? last.to : 'up';
      const blind = state === 'up' && dead.some((d) => d.fromMs < z && d.toMs > a);
      stripCells.push({ state, changed: inside.length > 0, blind });
    }
    const away: Array<{ state: StripState; ms: number }> = [];
    for (const seg of segments) {
      if (seg.state === 'up') continue;
      const known = away.find((a) => a.state === seg.state);
      if (known) known.ms += seg.toMs - seg.fromMs;
      else away.push({ state: seg.state, ms: seg.toMs - seg.fromMs });
    }
    return { name: b.name, segments, cells: stripCells, changes, away, dead };
  });
  return {
    id: 'health',
    title: 'Health',
    subtitle: `the balancer's view of each backend, one cell per ${cellMs === 1000 ? 'second' : `${cellMs / 1000}s`}; events marked`,
    blocks: [{ kind: 'health', startMs: 0, cellMs, cells, durationMs: r.durationMs, strips, markers: placeMarkers(eventMarkers(r), 0, cellMs, cells) }],
  };
}
