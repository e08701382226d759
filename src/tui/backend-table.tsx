import { Box, Text } from 'ink';
import { formatAt, formatMs, formatPct, formatRate, shareBar } from '../report/format.js';
import type { BackendSnapshot } from '../session/snapshot.js';
import { FAULT_TONE_COLOUR } from './fault-tone-colour.js';
import { pad, widest } from './pad.js';

/** Cells of the share bar drawn by `shareBar`, when there is room; it narrows to {@link MIN_BAR_WIDTH} before a column goes. */
const BAR_WIDTH = 16;
const MIN_BAR_WIDTH = 6;

/** The columns a narrow terminal may do without; name, state, share, req/s, p99 and errors always stay. */
const OPTIONAL_COLUMNS = ['port', 'pid', 'check', 'p50', 'inFlight', 'weight'] as const;
type OptionalColumn = (typeof OPTIONAL_COLUMNS)[number];

/**
 * Props of {@link BackendTable}: the backends in configured order, the index
 * of the selected one, and when the shares start counting (ms since the
 * start; 0 = the whole run).
 */
export type BackendTableProps = {
  backends: readonly BackendSnapshot[];
  selected: number;
  sharesSinceMs?: number;
  /** Show each backend's reported load after its last check (what `resource` picks by). */
  showLoad?: boolean;
  /** The terminal's width in columns: columns are dropped (see {@link OPTIONAL_COLUMNS}) and the share bar narrowed until a row fits. Default: no limit. */
  width?: number;
};

type Cells = {
  name: string;
  pool: string;
  port: string;
  pid: string;
  weight: string;
  state: string;
  /** The state's words besides health (EJECTED 12s, OPEN, DRAIN, BACKUP), '' when none. */
  extra: string;
  check: string;
  inFlight: string;
  rps: string;
  share: string;
  expected: string;
  p50: string;
  p99: string;
  errors: string;
  /** tcp mode: the share of responses, beside the connection share; '' otherwise. */
  reqShare: string;
};

/**
 * What besides health keeps a backend from new requests, in HAProxy/Envoy
 * words: EJECTED (passive checks, with the time left), OPEN/HALF-OPEN
 * (circuit breaker), DRAIN; and BACKUP for a backup backend.
 */
function stateExtra(b: BackendSnapshot): string {
  const parts: string[] = [];
  if (b.ejectedForMs !== null) parts.push(`EJECTED ${Math.ceil(b.ejectedForMs / 1000)}s`);
  if (b.breaker === 'open') parts.push('OPEN');
  else if (b.breaker === 'half-open') parts.push('HALF-OPEN');
  if (b.draining) parts.push(b.inFlight === 0 ? 'DRAINED' : 'DRAIN');
  if (b.backup) parts.push('BACKUP');
  return parts.join(' ');
}

/** Widest pool name the table shows; longer ones end in `…`. */
const POOL_WIDTH = 10;

function shortPool(name: string): string {
  return name.length > POOL_WIDTH ? `${name.slice(0, POOL_WIDTH - 1)}…` : name;
}

/** The share the bar draws: of the WebSockets open now, of the connections (tcp mode), else of the responses. */
function shownShare(b: BackendSnapshot): number {
  return b.webSockets ? b.webSockets.share : b.connections ? b.connections.share : b.share;
}

function cellsOf(b: BackendSnapshot, showLoad: boolean): Cells {
  const extra = stateExtra(b);
  return {
    extra,
    name: b.name,
    pool: shortPool(b.pool ?? '-'),
    port: String(b.port),
    pid: b.process === 'exited' ? 'exited' : b.pid === null ? '-' : String(b.pid),
    weight: b.effectiveWeight < b.weight ? `${b.effectiveWeight.toFixed(1)}→${b.weight}` : String(b.weight),
    state: b.removed ? 'REMOVED' : b.unchecked ? `passive${extra ? ` ${extra}` : ''}` : `${b.state === 'up' ? 'UP' : 'DOWN'} ${b.checkCounter}${extra ? ` ${extra}` : ''}`,
    check: (b.lastCheck === '' ? '-' : b.lastCheck) + (showLoad && b.reportedLoad !== null ? ` load ${formatPct(b.reportedLoad, 0)}` : ''),
    // In tcp mode the balancer sees connections: open ones, opened per second, and their share.
    // With WebSocket clients: their WebSockets open on it, connects per second, share of the open ones, echo round trip and drops.
    inFlight: String(b.webSockets ? b.webSockets.open : b.connections ? b.connections.active : b.inFlight),
    rps: formatRate(b.webSockets ? b.webSockets.rate : b.connections ? b.connections.rate : b.rps),
    share: formatPct(shownShare(b)),
    reqShare: b.connections && !b.webSockets ? formatPct(b.share) : '',
    expected: formatPct(b.expectedShare),
    p50: formatMs(b.webSockets ? b.webSockets.p50Ms : b.p50Ms),
    p99: formatMs(b.webSockets ? b.webSockets.p99Ms : b.p99Ms),
    errors: String(b.webSockets ? b.webSockets.drops : b.errors),
  };
}

/**
 * The backend table: one row per backend with its name, port, pid (`exited`
 * in red once the process is gone, even while health checks still say UP),
 * weight, health state with the rise/fall counter and last check, requests
 * in flight, req/s over the last second, share of responses as a bar against
 * the expected share (the `|` marker) followed by both percentages (shares
 * count from the last algorithm, weight or membership change), p50/p99
 * latency and 5xx count; with routes, its pool after the name (shares are
 * then against expected shares within pools, weighted by each pool's
 * traffic). Faults switched on follow their backend's row.
 * In tcp mode (backends carry `connections`) the balancer's columns count
 * connections instead: open ones, opened per second, the connection share
 * against the expected share, and a `req%` column with the share of
 * responses beside it (keep-alive makes the two differ). With WebSocket
 * clients (backends carry `webSockets`) they count the clients' WebSockets:
 * open on it now (`ws`), connects per second, the share of the open ones
 * against the expected share, the echo round trip p50/p99 and the drops.
 * Column widths fit the widest value; in a terminal narrower than the whole
 * table (`width`) port and pid go, the share bar narrows, then check, p50,
 * in-flight and weight go, so that name, state, share, req/s, p99 and
 * errors are never cut.
 */
export function BackendTable({ backends, selected, sharesSinceMs = 0, showLoad = false, width = Infinity }: BackendTableProps) {
  const rows = backends.map((b) => cellsOf(b, showLoad));
  const ws = backends.some((b) => b.webSockets !== undefined);
  // The req% column beside the connection share is tcp mode's with HTTP clients only.
  const tcp = !ws && backends.some((b) => b.connections !== undefined);
  const labels = ws
    ? { inFlight: 'ws', rps: 'conn/s', share: 'open ', p50: 'rtt50', p99: 'rtt99', errors: 'drops' }
    : { inFlight: tcp ? 'conn' : 'infl', rps: tcp ? 'conn/s' : 'req/s', share: tcp ? 'conn ' : '', p50: 'p50', p99: 'p99', errors: 'err' };
  const pooled = backends.some((b) => b.pool !== undefined);
  const col = (key: keyof Cells, header: string, min = 0) => widest([header, ...rows.map((r) => r[key])], min);
  const w = {
    name: col('name', 'name', 4),
    pool: col('pool', 'pool'),
    port: col('port', 'port'),
    pid: col('pid', 'pid', 6),
    weight: col('weight', 'w'),
    state: col('state', 'state', 6),
    check: col('check', 'check'),
    inFlight: col('inFlight', labels.inFlight),
    rps: col('rps', labels.rps),
    reqShare: col('reqShare', tcp ? 'req%' : ''),
    share: col('share', ''),
    expected: col('expected', ''),
    p50: col('p50', labels.p50, 6),
    p99: col('p99', labels.p99, 6),
    errors: col('errors', labels.errors),
  };
  const shareTitle = `${labels.share}${sharesSinceMs > 0 ? `share/exp since ${formatAt(sharesSinceMs)}` : 'share / expected'}`;
  // What fits: every column with the full bar if it can, else the bar narrowed, then the optional columns dropped in turn.
  const rowWidth = (shown: ReadonlySet<OptionalColumn>, bar: number): number => {
    const cells = [1, w.name, ...(pooled ? [w.pool] : []), w.rps, Math.max(bar + 1 + w.share + 3 + w.expected, shareTitle.length), w.state, w.p99, w.errors];
    if (tcp) cells.push(w.reqShare);
    for (const c of shown) cells.push(w[c]);
    return cells.reduce((a, b) => a + b, 0) + cells.length - 1;
  };
  const shown = new Set<OptionalColumn>(OPTIONAL_COLUMNS);
  let bar = BAR_WIDTH;
  // By priority: port and pid go first, then the bar narrows to 10 cells, then check and p50 go, the bar to 6, then in-flight and weight.
  const steps: Array<OptionalColumn | number> = ['port', 'pid', 10, 'check', 'p50', MIN_BAR_WIDTH, 'inFlight', 'weight'];
  for (const step of steps) {
    if (rowWidth(shown, bar) <= width) break;
    if (typeof step === 'number') {
      while (bar > step && rowWidth(shown, bar) > width) bar--;
    } else shown.delete(step);
  }
  const shareWidth = Math.max(bar + 1 + w.share + 3 + w.expected, shareTitle.length);
  const has = (c: OptionalColumn): boolean => shown.has(c);
  const header = [
    ' ',
    pad('name', w.name),
    ...(pooled ? [pad('pool', w.pool)] : []),
    ...(has('port') ? [pad('port', w.port)] : []),
    ...(has('pid') ? [pad('pid', w.pid)] : []),
    ...(has('weight') ? [pad('w', w.weight, 'right')] : []),
    pad('state', w.state),
    ...(has('check') ? [pad('check', w.check)] : []),
    ...(has('inFlight') ? [pad(labels.inFlight, w.inFlight, 'right')] : []),
    pad(labels.rps, w.rps, 'right'),
    pad(shareTitle, shareWidth),
    ...(tcp ? [pad('req%', w.reqShare, 'right')] : []),
    ...(has('p50') ? [pad(labels.p50, w.p50, 'right')] : []),
    pad(labels.p99, w.p99, 'right'),
    pad(labels.errors, w.errors, 'right'),
  ].join(' ');
  return (
    <Box flexDirection="column">
      <Text dimColor wrap="truncate">
        {header}
      </Text>
      {backends.map((b, i) => {
        const r = rows[i]!;
        const isSelected = i === selected;
        return (
          <Box key={b.name} flexDirection="column">
            <Text wrap="truncate">
              <Text color="cyan" bold>
                {isSelected ? '›' : ' '}
              </Text>{' '}
              <Text bold={isSelected} color={isSelected ? 'cyan' : undefined}>
                {pad(r.name, w.name)}
              </Text>{' '}
              {pooled ? <Text color="magenta">{pad(r.pool, w.pool)} </Text> : null}
              {has('port') ? `${pad(r.port, w.port)} ` : ''}
              {has('pid') ? (
                <>
                  <Text color={b.process === 'exited' ? 'red' : b.process === 'starting' ? 'yellow' : undefined} bold={b.process === 'exited'}>
                    {pad(r.pid, w.pid)}
                  </Text>{' '}
                </>
              ) : null}
              {has('weight') ? `${pad(r.weight, w.weight, 'right')} ` : ''}
              {b.removed ? (
                <Text dimColor>{pad(r.state, w.state)}</Text>
              ) : (
                <>
                  {b.unchecked ? (
                    <Text color="yellow">passive</Text>
                  ) : (
                    <>
                      <Text bold color={b.state === 'up' ? 'green' : 'red'}>
                        {b.state === 'up' ? 'UP' : 'DOWN'}
                      </Text>
                      {` ${b.checkCounter}`}
                    </>
                  )}
                  {r.extra ? (
                    <Text color={b.ejectedForMs !== null || b.breaker === 'open' ? 'red' : b.backup && !b.draining && b.breaker !== 'half-open' ? 'blue' : 'yellow'}>
                      {` ${r.extra}`}
                    </Text>
                  ) : null}
                  {' '.repeat(Math.max(0, w.state - r.state.length))}
                </>
              )}{' '}
              {has('check') ? (
                <>
                  <Text color={b.lastCheck.startsWith('L7OK') || b.lastCheck === 'L4OK' || b.lastCheck === '' ? undefined : 'yellow'}>{pad(r.check, w.check)}</Text>{' '}
                </>
              ) : null}
              {has('inFlight') ? `${pad(r.inFlight, w.inFlight, 'right')} ` : ''}
              {pad(r.rps, w.rps, 'right')}{' '}
              <Text color="cyan">{shareBar(shownShare(b), b.expectedShare, bar)}</Text> {pad(r.share, w.share, 'right')}
              <Text dimColor> / {pad(r.expected, w.expected, 'right')}</Text>
              {' '.repeat(shareWidth - (bar + 1 + w.share + 3 + w.expected))} {tcp ? `${pad(r.reqShare, w.reqShare, 'right')} ` : ''}
              {has('p50') ? `${pad(r.p50, w.p50, 'right')} ` : ''}
              {pad(r.p99, w.p99, 'right')}{' '}
              <Text color={r.errors !== '0' ? 'red' : undefined}>{pad(r.errors, w.errors, 'right')}</Text>
            </Text>
            {b.faults.length > 0 ? (
              <Text color={FAULT_TONE_COLOUR.warn} wrap="truncate">
                {' '.repeat(2 + w.name)}↳ {b.faults.join(', ')}
              </Text>
            ) : null}
          </Box>
        );
      })}
    </Box>
  );
}
