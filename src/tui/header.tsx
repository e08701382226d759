import { Box, Text } from 'ink';
import { formatRateLimit } from '../balancer/rate-limit.js';
import { formatSticky } from '../balancer/sticky/sticky-sessions.js';
import { formatCount, formatDuration, formatMs, formatPct, formatRate, formatSessionLoss } from '../report/format.js';
import type { RunSnapshot } from '../session/snapshot.js';
import { formatBytes } from '../report/format-bytes.js';

/** The pools whose algorithm is not the run's, in words: `/static weighted`; '' when none. */
function ownAlgorithms(s: RunSnapshot): string {
  return (s.pools ?? [])
    .filter((p) => p.algo !== s.algo)
    .map((p) => `${p.name} ${p.algo}`)
    .join(', ');
}

/** Props of {@link Header}: the snapshot to describe. */
export type HeaderProps = { snapshot: RunSnapshot };

/**
 * The dashboard's header lines: algorithm and the engine when a real one balances (`on haproxy`) (with the pools that pick by
 * another one of their own, when routed), listen URL and elapsed time
 * (against the planned duration when there is one); then load in req/s,
 * concurrency or, in the open model, the scheduled rate (PAUSED when load
 * is paused), error rate over the last second and the total of requests (in
 * tcp mode also connections open and bytes relayed each way); then, when
 * on, the sticky mode with the stick table's entries (ip) or the cookies set
 * (cookie), the rate limit with the requests it refused, and where the
 * sessions live with the users, the sessions created, found and lost, and
 * what the latest fault cost (`kill b2 → 13 of 40 users logged out`); with
 * regions, the GSLB policy and for each region's clients where they are
 * sent now (yellow when away from home), the share served away so far and
 * p50 at home and away; with two balancers, each one's state, connections
 * and req/s (see {@link BalancersLine}). With `--protocol ws` the load line is the
 * WebSocket clients' (see {@link WebSocketTotals}).
 */
export function Header({ snapshot: s }: HeaderProps) {
  const elapsed = formatDuration(s.elapsedMs) + (s.durationMs > 0 ? ` / ${formatDuration(s.durationMs)}` : '');
  const own = ownAlgorithms(s);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold color="cyan">lblab</Text>
        {'  '}
        <Text bold>{s.algo}</Text>
        {s.engine ? <Text color="yellow"> on {s.engine}</Text> : null}
        {s.mode === 'tcp' ? <Text color="magenta"> tcp (L4: connections)</Text> : null}
        {own ? <Text dimColor> ({own})</Text> : null}
        {'  '}
        {s.listen}
        {'  '}
        <Text dimColor>elapsed</Text> {elapsed}
      </Text>
      {s.webSockets ? (
        <WebSocketTotals ws={s.webSockets} />
      ) : (
      <Text wrap="truncate">
        <Text bold>{formatRate(s.rps)}</Text> req/s{'  '}
        {s.rate !== undefined ? (
          <>
            <Text dimColor>rate</Text> {formatRate(s.rate)}/s
          </>
        ) : (
          <>
            <Text dimColor>concurrency</Text> {s.concurrency}
          </>
        )}
        {s.paused ? (
          <Text bold color="yellow">
            {'  '}PAUSED
          </Text>
        ) : null}
        {'  '}
        <Text dimColor>error rate</Text> <Text color={s.errorRate > 0 ? 'red' : undefined}>{formatPct(s.errorRate)}</Text>
        {'  '}
        <Text dimColor>requests</Text> {s.requests}
        {s.mode === 'tcp' ? <Text>{'  '}{tcpTotals(s)}</Text> : null}
      </Text>
      )}
      {s.sticky || s.rateLimit || s.sessions ? (
        <Text wrap="truncate">
          {s.sticky ? (
            <>
              <Text dimColor>sticky</Text> <Text bold>{formatSticky(s.sticky.config)}</Text>
              {'  '}
              {s.sticky.config.mode === 'ip' ? (
                <>
                  <Text dimColor>stick table</Text> {s.sticky.entries}/{s.sticky.config.size} entries
                </>
              ) : (
                <>
                  <Text dimColor>cookies set</Text> {s.sticky.cookiesSet}
                </>
              )}
              {s.rateLimit || s.sessions ? '  ' : ''}
            </>
          ) : null}
          {s.rateLimit ? (
            <>
              <Text dimColor>rate limit</Text> <Text bold>{formatRateLimit(s.rateLimit.config)}</Text> per IP{'  '}
              <Text dimColor>429s</Text> <Text color={s.rateLimit.limited > 0 ? 'yellow' : undefined}>{s.rateLimit.limited}</Text>
              {s.sessions ? '  ' : ''}
            </>
          ) : null}
          {s.sessions ? <SessionsLine sessions={s.sessions} /> : null}
        </Text>
      ) : null}
      {s.balancers ? <BalancersLine balancers={s.balancers} unit={s.mode === 'tcp' ? 'connections' : 'requests'} /> : null}
      {s.regions ? (
        <Text wrap="truncate">
          <Text dimColor>gslb</Text> <Text bold>{s.regions.policy}</Text>
          {s.regions.clientRegions.map((c) => (
            <Text key={c.name}>
              {'  '}
              {c.name} clients → <Text color={c.servedIn.some((r) => r !== c.name) ? 'yellow' : undefined}>{c.servedIn.join('+')}</Text>
              <Text dimColor>
                {' '}
                ({formatPct(c.remoteShare)} served away
                {c.localP50 !== undefined || c.remoteP50 !== undefined ? '; p50 ' : ''}
                {[c.localP50 !== undefined ? `home ${formatMs(c.localP50)}` : '', c.remoteP50 !== undefined ? `away ${formatMs(c.remoteP50)}` : ''].filter(Boolean).join(', ')})
              </Text>
            </Text>
          ))}
        </Text>
      ) : null}
    </Box>
  );
}

/** The colour of a pair member's state: green serving, yellow watching, red gone. */
const MEMBER_COLOUR = { active: 'green', passive: 'yellow', down: 'red', starting: 'yellow' } as const;

/**
 * The balancers line of a run with two (`--balancers 2`): the mode, then per
 * balancer its state (green active, yellow passive, red down), its own
 * address, client connections open, req/s over the last second and
 * requests so far (`unit` connections at L4, where each is one).
 */
function BalancersLine({ balancers, unit }: { balancers: NonNullable<RunSnapshot['balancers']>; unit: 'requests' | 'connections' }) {
  return (
    <Text wrap="truncate">
      <Text dimColor>balancers</Text> <Text bold>{balancers.mode}</Text>
      {balancers.members.map((m) => (
        <Text key={m.name}>
          {'  '}
          <Text bold>{m.name}</Text> <Text color={MEMBER_COLOUR[m.state]}>{m.state.toUpperCase()}</Text>
          <Text dimColor> {m.address}</Text> {m.connections} conn {formatRate(m.rps)} {unit === 'connections' ? 'conn/s' : 'req/s'}
          <Text dimColor> ({formatCount(m.requests)} {unit})</Text>
        </Text>
      ))}
    </Text>
  );
}

/**
 * The two load lines of a `--protocol ws` run: WebSockets open of the
 * clients, the message rate, connects/s, drops and reconnects; then the echo
 * round trip p50/p99 and messages sent, echoed and unanswered.
 */
function WebSocketTotals({ ws }: { ws: NonNullable<RunSnapshot['webSockets']> }) {
  return (
    <>
      <Text wrap="truncate">
        <Text dimColor>WebSockets</Text> <Text bold>{ws.open}</Text>/{ws.clients} open{'  '}
        <Text dimColor>msg/s each</Text> {formatRate(ws.messageRate)}{'  '}
        <Text dimColor>connects/s</Text> {formatRate(ws.rate)}{'  '}
        <Text dimColor>drops</Text> <Text color={ws.drops > 0 ? 'yellow' : undefined}>{ws.drops}</Text>{'  '}
        <Text dimColor>reconnects</Text> {ws.reconnects}
      </Text>
      <Text wrap="truncate">
        <Text dimColor>echo rtt p50</Text> {formatMs(ws.p50Ms)} <Text dimColor>p99</Text> {formatMs(ws.p99Ms)}{'  '}
        <Text dimColor>messages</Text> {ws.sent} sent · {ws.echoed} echoed · <Text color={ws.unanswered > 0 ? 'yellow' : undefined}>{ws.unanswered} unanswered</Text>
      </Text>
    </>
  );
}

/** tcp mode: connections open now and bytes relayed, over every backend: `conns 2 open · in 24KiB · out 75KiB`. */
function tcpTotals(s: RunSnapshot): string {
  let open = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  for (const b of s.backends) {
    open += b.connections?.active ?? 0;
    bytesIn += b.connections?.bytesIn ?? 0;
    bytesOut += b.connections?.bytesOut ?? 0;
  }
  return `conns ${open} open · in ${formatBytes(bytesIn)} · out ${formatBytes(bytesOut)}`;
}

/** The header's sessions part: `sessions memory  users 40  new 40 · found 2 949 · lost 13  kill b2 → 13 of 40 logged out`. */
function SessionsLine({ sessions: x }: { sessions: NonNullable<RunSnapshot['sessions']> }) {
  const loss = x.lastLoss;
  return (
    <>
      <Text dimColor>sessions</Text> <Text bold>{x.mode}</Text>
      {'  '}
      <Text dimColor>users</Text> {x.users}
      {'  '}
      <Text dimColor>new</Text> {formatCount(x.totals.created)} · <Text dimColor>found</Text> {formatCount(x.totals.found)} · <Text dimColor>lost</Text>{' '}
      <Text color={x.totals.lost > 0 ? 'red' : undefined}>{formatCount(x.totals.lost)}</Text>
      {loss ? <Text color={loss.loggedOut > 0 ? 'red' : 'green'}>{'  '}{formatSessionLoss(loss, true)}</Text> : null}
    </>
  );
}
