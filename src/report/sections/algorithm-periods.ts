import type { RunRecord } from '../../metrics/run-record.js';
import { plain, type Block, type Section, type Span } from '../blocks.js';
import { formatAt, formatMs, formatPct, formatRate } from '../format.js';

/**
 * One row per algorithm period (when, algorithm and weights and the backends
 * out of rotation, req/s, p50/p99, errors, largest share deviation), then
 * each backend's share/expected per period, seven backends to a table so it
 * stays within 100 columns. Only when the run switched algorithm, weights,
 * membership or a backend's health.
 */
export function algorithmPeriodsSection(r: RunRecord): Section | undefined {
  const periods = r.periods ?? [];
  if (periods.length <= 1) return undefined;
  const when = (p: (typeof periods)[number]): Span => plain(`${formatAt(p.fromMs)}–${formatAt(p.toMs)}`);
  const rows = periods.map((p): Span[] => {
    const weighted = p.weights.some((w) => w !== 1);
    const dev = Math.max(0, ...p.backends.filter((b) => b.expectedShare > 0).map((b) => Math.abs(b.share - b.expectedShare)));
    return [
      when(p),
      plain(`${weighted ? `${p.algo} (${p.weights.join(',')})` : p.algo}${p.out?.length ? ` · out: ${p.out.join(',')}` : ''}`),
      plain(formatRate(p.rps)),
      plain(formatMs(p.latencyMs.p50)),
      plain(formatMs(p.latencyMs.p99)),
      p.errors > 0 ? { text: String(p.errors), tone: 'bad' } : plain('0'),
      p.requests > 0 ? { text: formatPct(dev), ...(dev > 0.05 ? { tone: 'warn' as const } : {}) } : plain('-'),
    ];
  });
  const blocks: Block[] = [
    { kind: 'table', head: ['period', 'algorithm', 'req/s', 'p50', 'p99', 'errors', 'max dev'], align: ['left', 'left', 'right', 'right', 'right', 'right', 'right'], rows },
  ];
  const names = r.backends.map((b) => b.name);
  for (let i = 0; i < names.length; i += 7) {
    const chunk = names.slice(i, i + 7);
    blocks.push({
      kind: 'table',
      caption: [{ text: 'share/expected per period (%; - = not in the upstream)', tone: 'dim' }],
      head: ['period', ...chunk],
      align: ['left', ...chunk.map(() => 'right' as const)],
      rows: periods.map((p) => [
        when(p),
        ...chunk.map((name): Span => {
          const b = p.backends.find((x) => x.name === name);
          if (!b) return plain('-');
          const text = b.expectedShare > 0 ? `${pct(b.share)}/${pct(b.expectedShare)}` : `${pct(b.share)}/-`;
          return b.expectedShare > 0 && Math.abs(b.share - b.expectedShare) > 0.05 ? { text, tone: 'warn' } : plain(text);
        }),
      ]),
    });
  }
  return { id: 'periods', title: 'Algorithm periods', subtitle: 'a new one at each algorithm, weight, membership or health change', blocks };
}

/** A share 0..1 as a bare percentage with one decimal: `33.3`. */
function pct(share: number): string {
  return (share * 100).toFixed(1);
}
