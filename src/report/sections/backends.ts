import type { BackendRecord, RunRecord } from '../../metrics/run-record.js';
import { plain, type Section, type Span } from '../blocks.js';
import { formatDuration, formatMs, formatPct } from '../format.js';

/** The per-backend table: weight, responses, share vs expected, errors, failed tries, latency, final state, time down, health changes. */
export function backendsSection(r: RunRecord): Section | undefined {
  // `balance --mode tcp` counts no requests: its connections table says everything.
  if (r.backends.length === 0 || (r.config.mode === 'tcp' && r.config.command === 'balance')) return undefined;
  const pooled = r.backends.some((b) => b.pool !== undefined);
  // With routes, backends grouped by pool (in the order pools first appear), the pool named on its first row.
  const pools = [...new Set(r.backends.map((b) => b.pool ?? ''))];
  const ordered = pooled ? pools.flatMap((p) => r.backends.filter((b) => (b.pool ?? '') === p)) : r.backends;
  const rows = ordered.map((b, i): Span[] => {
    const off = b.expectedShare > 0 ? b.share - b.expectedShare : 0;
    return [
      ...(pooled ? [plain(b.pool === ordered[i - 1]?.pool ? '' : (b.pool ?? '-'))] : []),
      plain(b.name),
      plain(String(b.weight)),
      plain(String(b.requests)),
      { text: `${formatPct(b.share)}/${b.expectedShare > 0 ? formatPct(b.expectedShare) : '-'}`, ...(b.expectedShare > 0 && Math.abs(off) > 0.05 ? { tone: 'warn' as const } : {}) },
      b.errors > 0 ? { text: String(b.errors), tone: 'bad' } : plain('0'),
      b.failedTries === undefined ? plain('-') : b.failedTries > 0 ? { text: String(b.failedTries), tone: 'warn' } : plain('0'),
      plain(formatMs(b.latencyMs.p50)),
      plain(formatMs(b.latencyMs.p90)),
      plain(formatMs(b.latencyMs.p99)),
      plain(formatMs(b.latencyMs.max)),
      finalState(b, r.config.engine),
      plain(b.health.downMs > 0 ? formatDuration(b.health.downMs) : '-'),
      plain(String(b.health.transitions.length)),
    ];
  });
  const head = [...(pooled ? ['pool'] : []), 'backend', 'wght', 'served', 'share/exp', 'errors', 'failed', 'p50', 'p90', 'p99', 'max', 'state', 'down', 'chg'];
  return {
    id: 'backends',
    title: 'Backends',
    blocks: [
      {
        kind: 'table',
        head,
        align: [...(pooled ? ['left' as const] : []), 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left', 'right', 'right'],
        rows,
        // In a narrow terminal: p90 and max first (p50 and p99 tell the spread), then the change count, then p50.
        optional: ['p90', 'max', 'chg', 'p50'].map((h) => head.indexOf(h)),
      },
      { kind: 'note', text: 'failed: tries refused, reset, timed out or answered with a retried status' },
      { kind: 'note', text: `down: time DOWN · chg: health changes · latency ${r.config.command === 'balance' ? 'balancer' : 'client'}-side` },
      ...(pooled ? [{ kind: 'note' as const, text: "exp: its share within its pool × the pool's part of the requests" }] : []),
    ],
  };
}

/** Its state at the end: REMOVED, UP or DOWN; `passive` under an engine that runs no active checks (nginx OSS), which gives no verdict. */
function finalState(b: BackendRecord, engine: string | undefined): Span {
  if (b.removed) return { text: 'REMOVED', tone: 'warn' };
  if (engine === 'nginx') return { text: 'passive', tone: 'warn' };
  return b.health.state === 'up' ? { text: 'UP', tone: 'good' } : { text: 'DOWN', tone: 'bad' };
}
