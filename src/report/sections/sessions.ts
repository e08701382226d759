import { SESSION_MODE_WORDS } from '../../backend/sessions.js';
import type { RunRecord, SessionCounts } from '../../metrics/run-record.js';
import type { Block, Section, Span } from '../blocks.js';
import { formatAt, formatPct, formatSessionLoss } from '../format.js';

/** Lost ÷ every response with a session, 0 when there were none. */
function lostShare(c: SessionCounts): number {
  const n = c.created + c.found + c.lost;
  return n > 0 ? c.lost / n : 0;
}

/** One row: a name and its sessions created, found, lost and the lost share. */
function row(name: Span, c: SessionCounts): Span[] {
  return [
    name,
    { text: String(c.created) },
    { text: String(c.found) },
    c.lost > 0 ? { text: String(c.lost), tone: 'bad' } : { text: '0' },
    { text: formatPct(lostShare(c)), ...(c.lost > 0 ? { tone: 'bad' as const } : {}) },
  ];
}

/**
 * The report's section for user sessions (`--sessions`): per backend the
 * sessions its responses created (logins), found and lost (a session it
 * could not find or verify: the user logged out), with the lost share; then
 * each fault and the users it logged out (`sessionLosses`). From the
 * `x-lblab-session` header the clients read. Undefined without sessions.
 */
export function sessionsSection(r: RunRecord): Section | undefined {
  const totals = r.totals.sessions;
  if (!totals) return undefined;
  const rows = r.backends.map((b) => row({ text: b.name }, b.sessions ?? { created: 0, found: 0, lost: 0 }));
  rows.push(row({ text: 'all', tone: 'strong' }, totals));
  const blocks: Block[] = [
    { kind: 'table', head: ['backend', 'created', 'found', 'lost', 'lost share'], align: ['left', 'right', 'right', 'right', 'right'], rows },
  ];
  const losses = r.sessionLosses ?? [];
  if (losses.length > 0) {
    blocks.push({
      kind: 'list',
      items: losses.map((l) => ({ line: [{ text: `${formatAt(l.atMs)} ` }, { text: formatSessionLoss(l), tone: l.loggedOut > 0 ? 'bad' : 'good' }], sub: [] })),
    });
  }
  blocks.push({
    kind: 'note',
    text: 'created: a request without a session logged in · found: its session was found (or its token verified) · lost: it carried a session that backend could not find or verify, so the user was logged out (and logged in anew); after a fault: clients that lost a session until the next fault or the end',
  });
  const mode = r.config.sessions;
  return { id: 'sessions', title: 'Sessions', subtitle: mode ? SESSION_MODE_WORDS[mode] : 'as the backends said (x-lblab-session)', blocks };
}
