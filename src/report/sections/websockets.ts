import type { RunRecord } from '../../metrics/run-record.js';
import type { Block, Section, Span } from '../blocks.js';
import { formatMs, formatPct } from '../format.js';

/**
 * The report's section for WebSockets through the L7 balancer: per backend
 * the upgrades it switched (101) and their share against the expected
 * share, those still open when the record was taken, upgrades it answered
 * otherwise (refused) and those with no answer (failed). Undefined when no
 * backend got an upgrade.
 */
export function webSocketsSection(r: RunRecord): Section | undefined {
  const clients = r.webSocketClients ? webSocketClientsBlocks(r.webSocketClients) : [];
  if (!r.backends.some((b) => b.webSockets)) {
    return clients.length > 0 ? { id: 'websockets', title: 'WebSockets', subtitle: 'as the clients saw them', blocks: clients } : undefined;
  }
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
    { kind: 'table', ...(clients.length > 0 ? { caption: [{ text: 'at the balancer' }] } : {}), head: ['backend', 'upgrades', 'share/exp', 'open', 'refused', 'failed'], align: ['left', 'right', 'right', 'right', 'right', 'right'], rows },
    {
      kind: 'note',
      text: 'upgrades: answered 101 and joined · open: still open at the end · refused: answered otherwise, relayed · failed: no answer (refused, reset, timed out; retried elsewhere when the policy allows)',
    },
  ];
  return { id: 'websockets', title: 'WebSockets', subtitle: `upgrades passed on, ${total} joined; each in flight on its backend while open`, blocks: [...clients, ...blocks] };
}

/**
 * The clients' side of a `--protocol ws` run: connects, drops and messages
 * (sent, echoed, unanswered and of them at a drop, pending at the end), the
 * echo round trip, then per backend its connects, drops and WebSockets open
 * at the end with their share against the algorithm's share at the end.
 */
function webSocketClientsBlocks(c: NonNullable<RunRecord['webSocketClients']>): Block[] {
  const open = Object.values(c.backends).reduce((n, b) => n + b.openAtEnd, 0);
  const lost = c.unanswered - c.unansweredAtDrop;
  const rows = Object.entries(c.backends).map(([name, b]): Span[] => [
    { text: name },
    { text: String(b.connects) },
    b.drops > 0 ? { text: String(b.drops), tone: 'warn' } : { text: '0' },
    { text: String(b.openAtEnd) },
    {
      text: `${formatPct(b.openShare)}/${b.expectedShare > 0 ? formatPct(b.expectedShare) : '-'}`,
      ...(b.expectedShare > 0 && Math.abs(b.openShare - b.expectedShare) > 0.05 ? { tone: 'warn' as const } : {}),
    },
  ]);
  return [
    {
      kind: 'facts',
      lines: [
        [
          { label: 'clients: connects', value: { text: String(c.connects) } },
          { label: 'reconnects', value: { text: String(c.reconnects) } },
          { label: 'expired', value: { text: String(c.expired) } },
          { label: 'drops', value: c.drops > 0 ? { text: String(c.drops), tone: 'warn' } : { text: '0' } },
          { label: 'failed handshakes', value: { text: String(c.failedConnects) } },
        ],
        [
          { label: 'messages sent', value: { text: String(c.sent) } },
          { label: 'echoed', value: { text: String(c.echoed) } },
          { label: 'unanswered', value: { text: `${c.unanswered} (${c.unansweredAtDrop} at a drop)`, ...(lost > 0 ? { tone: 'warn' as const } : {}) } },
          { label: 'pending at end', value: { text: String(c.pendingAtEnd) } },
        ],
        [{ label: 'echo round trip', value: { text: `p50 ${formatMs(c.echoMs.p50)}  p99 ${formatMs(c.echoMs.p99)}  max ${formatMs(c.echoMs.max)}` } }],
      ],
    },
    {
      kind: 'table',
      caption: [{ text: 'at the clients' }],
      head: ['backend', 'connects', 'drops', 'open at end', 'open share/exp'],
      align: ['left', 'right', 'right', 'right', 'right'],
      rows,
    },
    {
      kind: 'note',
      text: `by the backend that greeted each client ({"backend":"b1"}) · open share: of the ${open} WebSockets open at the end · exp: the algorithm's share at the end · unanswered at a drop: in flight when the connection dropped`,
    },
  ];
}
