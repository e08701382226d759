import { faultDefinitions } from '../../backend/faults.js';
import type { RunRecord } from '../../metrics/run-record.js';
import { plain, type Block, type Section, type Span } from '../blocks.js';
import { formatAt, formatSessionLoss } from '../format.js';

/** Events whose effect on traffic the report shows second by second. */
const DIP_EVENTS: ReadonlySet<string> = new Set([
  'kill',
  'exit',
  ...faultDefinitions().filter((f) => f.aroundInReport).map((f) => f.name),
  'remove',
  'drain',
  'draining',
]);

/** Up to this many backends get a row each in the tables around a fault; beyond, only the fault's target. */
const DIP_ALL_BACKENDS = 6;

/**
 * For each fault-like event, a table of the seconds from 3 before to 5 after
 * the one it fell in: req/s, client errors, with sessions the sessions lost
 * (and in the caption how many users the fault logged out), and each backend's responses
 * (only the target's beyond {@link DIP_ALL_BACKENDS} backends), from the time
 * line (one point per second).
 */
export function aroundFaultsSection(r: RunRecord): Section | undefined {
  if (r.timeline.length === 0) return undefined;
  const blocks: Block[] = [];
  for (const e of [...r.events].sort((a, b) => a.atMs - b.atMs)) {
    if (!DIP_EVENTS.has(e.type)) continue;
    const at = Math.min(r.timeline.length - 1, Math.floor(e.atMs / 1000));
    const offsets: number[] = [];
    for (let k = -3; k <= 5; k++) if (at + k >= 0 && at + k < r.timeline.length) offsets.push(k);
    const point = (k: number) => r.timeline[at + k]!;
    const rows: Span[][] = [
      [plain('req/s'), ...offsets.map((k) => plain(String(point(k).rps)))],
      [plain('errors'), ...offsets.map((k): Span => (point(k).errors > 0 ? { text: String(point(k).errors), tone: 'bad' } : plain('0')))],
    ];
    if (r.totals.sessions) {
      rows.push([plain('sessions lost'), ...offsets.map((k): Span => {
        const lost = point(k).sessions?.lost ?? 0;
        return lost > 0 ? { text: String(lost), tone: 'bad' } : plain('0');
      })]);
    }
    const names = r.backends.length <= DIP_ALL_BACKENDS ? r.backends.map((b) => b.name) : r.backends.filter((b) => b.name === e.target).map((b) => b.name);
    for (const name of names) {
      rows.push([{ text: name, ...(name === e.target ? { tone: 'strong' as const } : {}) }, ...offsets.map((k) => plain(String(point(k).perBackend[name] ?? 0)))]);
    }
    const loss = r.sessionLosses?.find((l) => l.atMs === e.atMs && l.type === e.type && l.target === e.target);
    blocks.push({
      kind: 'table',
      caption: [
        { text: `${formatAt(e.atMs)} ${e.type}${e.target ? ` ${e.target}` : ''}`, tone: 'strong' },
        ...(loss ? [{ text: ` ${formatSessionLoss(loss, false, false)}`, tone: loss.loggedOut > 0 ? ('bad' as const) : ('good' as const) }] : []),
      ],
      head: ['second', ...offsets.map((k) => (k > 0 ? `+${k}` : String(k)))],
      align: ['left', ...offsets.map(() => 'right' as const)],
      rows,
      timeLine: true,
    });
  }
  if (blocks.length === 0) return undefined;
  return { id: 'around', title: 'Around each fault', subtitle: 'per second from 3s before to 5s after; column 0 is the second it fell in', blocks };
}
