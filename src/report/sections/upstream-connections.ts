import type { RunRecord } from '../../metrics/run-record.js';
import type { Section, Span } from '../blocks.js';
import { formatRate } from '../format.js';

/**
 * The report's section for an HTTP run of lblab's own balancer: the
 * keep-alive connections it held to each backend (the balancer's side of
 * what `netstat` shows), as Envoy's `upstream_cx_*` stats count them —
 * opened and closed over the run, open and idle at the end, the most open
 * at once, and the average open and busy (carrying a request), with the
 * requests each connection carried on average. Undefined without the
 * counts (tcp mode, an engine, `load`, older records).
 */
export function upstreamConnectionsSection(r: RunRecord): Section | undefined {
  if (!r.backends.some((b) => b.upstreamConnections)) return undefined;
  const rows = r.backends.map((b): Span[] => {
    const c = b.upstreamConnections;
    if (!c) return [{ text: b.name }, ...Array.from({ length: 8 }, () => ({ text: '-' }))];
    const served = b.tries?.served ?? b.requests;
    return [
      { text: b.name },
      { text: String(c.opened) },
      { text: String(c.closed) },
      { text: String(c.open) },
      { text: String(c.idle) },
      { text: String(c.peakOpen) },
      { text: c.meanOpen.toFixed(1) },
      { text: c.meanBusy.toFixed(1) },
      { text: c.opened > 0 ? formatRate(served / c.opened) : '-' },
    ];
  });
  const opened = r.backends.reduce((n, b) => n + (b.upstreamConnections?.opened ?? 0), 0);
  return {
    id: 'upstream-connections',
    title: 'Connections to the backends',
    subtitle: `the balancer's keep-alive pools: ${opened} opened in all`,
    blocks: [
      {
        kind: 'table',
        head: ['backend', 'opened', 'closed', 'open', 'idle', 'peak', 'avg open', 'avg busy', 'req/conn'],
        align: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
        rows,
      },
      {
        kind: 'note',
        text: 'open and idle: at the end · peak: most open at once · avg: sampled every 100 ms · busy: carrying a request, the rest idle in the pool · closed: by the backend, a kill, the 4 s idle timeout or an error · req/conn: tries served per connection opened',
      },
    ],
  };
}
