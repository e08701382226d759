import { byTime, unloggedTransitions, type RunRecord } from '../../metrics/run-record.js';
import { plain, type Section, type Span } from '../blocks.js';
import { formatAt } from '../format.js';

/** The event log: user and lab actions, process events and the balancer's reactions, each once, in time order. */
export function eventLogSection(r: RunRecord): Section | undefined {
  const ordered = [...r.events, ...r.backends.flatMap((b) => unloggedTransitions(b.name, r.events, b.health.transitions))].sort(byTime);
  if (ordered.length === 0) return undefined;
  const bad = new Set(['down', 'kill', 'exit', 'error', 'ejected', 'breaker-open']);
  const rows = ordered.map((e): Span[] => [
    plain(formatAt(e.atMs)),
    { text: e.type, ...(bad.has(e.type) ? { tone: 'bad' as const } : e.type === 'up' ? { tone: 'good' as const } : {}) },
    plain(e.target ?? ''),
    { text: e.detail ?? '', tone: 'dim' },
  ]);
  return { id: 'events', title: 'Events', blocks: [{ kind: 'table', head: ['at', 'event', 'backend', 'detail'], align: ['right', 'left', 'left', 'left'], rows }] };
}
