import type { RunRecord } from '../../metrics/run-record.js';
import type { Block, Section, Span } from '../blocks.js';
import { formatPct } from '../format.js';

/**
 * The report's section for WebSockets through the L7 balancer: per backend
 * the upgrades it switched (101) and their share against the expected
 * share, those still open when the record was taken, upgrades it answered
 * otherwise (refused) and those with no answer (failed). Undefined when no
 * backend got an upgrade.
 */
export function webSocketsSection(r: RunRecord): Section | undefined {
  if (!r.backends.some((b) => b.webSockets)) return undefined;
  const total = r.backends.reduce((n, b) => n + (b.webSockets?.switched ?? 0), 0);
  const rows = r.backends.map((b): Span[] => {
    const w = b.webSockets;
    const share = w && total > 0 ? w.switched / total : 0;
    const exp = b.expectedShare;
    return [
      { text: b.name },
      { text: w ? String(w.switched) : '0' },
      { text: `${formatPct(share)}/${exp > 0 ? formatPct(exp) : '-'}`, ...(exp > 0 && Math.abs(share - exp) > 0.05 ? { tone: 'warn' as const } : {}) },
      { text: w ? String(w.open) : '0' },
      w && w.refused > 0 ? { text: String(w.refused), tone: 'warn' } : { text: '0' },
      w && w.failed > 0 ? { text: String(w.failed), tone: 'warn' } : { text: '0' },
    ];
  });
  const blocks: Block[] = [
    { kind: 'table', head: ['backend', 'upgrades', 'share/exp', 'open', 'refused', 'failed'], align: ['left', 'right', 'right', 'right', 'right', 'right'], rows },
    {
      kind: 'note',
      text: 'upgrades: answered 101 and joined · open: still open at the end · refused: answered otherwise, relayed · failed: no answer (refused, reset, timed out; retried elsewhere when the policy allows)',
    },
  ];
  return { id: 'websockets', title: 'WebSockets', subtitle: `upgrades passed on, ${total} joined; each in flight on its backend while open`, blocks };
}
