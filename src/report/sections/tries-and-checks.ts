import type { RunRecord } from '../../metrics/run-record.js';
import { plain, type Section, type Span } from '../blocks.js';

/** Per backend: the balancer's tries (served, retried elsewhere, lost) and active check results by HAProxy's name. */
export function triesAndChecksSection(r: RunRecord): Section | undefined {
  if (!r.backends.some((b) => b.tries || b.checks)) return undefined;
  const rows = r.backends.map((b): Span[] => {
    const t = b.tries;
    return [
      plain(b.name),
      plain(t ? String(t.served) : '-'),
      t ? (t.retried > 0 ? { text: String(t.retried), tone: 'warn' } : plain('0')) : plain('-'),
      t ? (t.lost > 0 ? { text: String(t.lost), tone: 'bad' } : plain('0')) : plain('-'),
      plain(checkWords(b.checks) || '-'),
    ];
  });
  return {
    id: 'tries',
    title: 'Tries and checks',
    subtitle: 'at the balancer',
    blocks: [
      { kind: 'table', head: ['backend', 'served', 'retried', 'lost', 'checks'], align: ['left', 'right', 'right', 'right', 'left'], rows },
      { kind: 'note', text: 'retried: failed, then sent to another backend · lost: the failure reached the client' },
    ],
  };
}

/** Check results by name, passes first: `L7OK 5, L4CON 3`. */
function checkWords(checks: Record<string, number> | undefined): string {
  if (!checks) return '';
  const order = ['L7OK', 'L4OK', 'L7STS', 'L4CON', 'L7TOUT', 'L4TOUT', 'SOCKERR'];
  const rank = (k: string): number => (order.includes(k) ? order.indexOf(k) : order.length);
  return Object.entries(checks)
    .sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}
