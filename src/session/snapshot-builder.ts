import type { AlgorithmName } from '../balancer/algorithms/index.js';
import type { LayerCounters } from '../balancer/upstream.js';
import type { UpstreamState } from '../balancer/balancer-thread.js';
import { faultWords } from '../backend/faults.js';
import type { FleetMember } from '../backend/fleet.js';
import { LATENCY_BUCKET_EDGES_MS, type LatencyHistogram } from '../metrics/latency-histogram.js';
import type { RunEvent } from '../metrics/run-record.js';
import { lastSecondRate, type TrafficStats } from '../metrics/traffic-stats.js';
import type { RunScenario } from '../scenario/scenario.js';
import { connectionSnapshots } from './connection-snapshot.js';
import type { BackendWebSocketSnapshot, WebSocketRunSnapshot } from './websocket-snapshot.js';
import type { Period } from './periods.js';
import type { GslbRecord } from '../metrics/run-record.js';
import type { SessionTally } from '../load/session-tally.js';
import { HISTORY_SECONDS, type BackendSnapshot, type RunSnapshot } from './snapshot.js';

/** What a snapshot is made of: the run's state at `nowMs` (ms since it started), read by the session, copied by {@link buildSnapshot}. */
export type SnapshotSources = {
  nowMs: number;
  scenario: RunScenario;
  /** The algorithm in force (it may have been switched). */
  algo: AlgorithmName;
  listen: string;
  /** Client-side traffic of the whole run. */
  stats: TrafficStats;
  /** The balancer's view of each backend, in order. */
  upstream: readonly UpstreamState[];
  /** The fleet member of each backend. */
  member: (name: string) => FleetMember;
  /** The period under way and its expected shares, one per backend. */
  period: Period | undefined;
  expectedShares: readonly number[] | undefined;
  /** In tcp mode, each backend's connections when the period began. */
  connectionBase: ReadonlyMap<string, number>;
  load: { concurrency: number; rate: number | undefined; paused: boolean };
  /** With `--protocol ws`: the clients' WebSockets, the run's and each backend's in order (see `webSocketSnapshots`). */
  webSockets?: { run: WebSocketRunSnapshot; backends: readonly BackendWebSocketSnapshot[]; echo: LatencyHistogram };
  events: readonly RunEvent[];
  /** The balancer's sticky and rate-limit counters; read only when one of them is on. */
  counters: () => LayerCounters;
  /** With regions: what each region's clients got so far, and where the GSLB tier sends each client now (region names by client). */
  regions?: { record: GslbRecord; servedIn: (home: string) => string[] };
  /** The users' sessions as the clients saw them, when the backends keep sessions. */
  sessions?: SessionTally;
  /** With two balancers: the mode and each one now (passed on as it is). */
  balancers?: RunSnapshot['balancers'];
};

/**
 * A copy of the live state for the views (dashboard, headless progress):
 * rates over the last second, shares over the current period (so a switch
 * shows the new algorithm at once), latency so far, the last 20 events. A
 * pure function of its sources.
 */
export function buildSnapshot(s: SnapshotSources): RunSnapshot {
  const { nowMs: now, stats, upstream, period, scenario } = s;
  const shares = s.expectedShares ?? upstream.map(() => 1 / upstream.length);
  const periodStats = period?.stats ?? stats;
  let attributed = 0;
  for (const b of periodStats.backends.values()) attributed += b.requests;
  const connections = connectionSnapshots(upstream, s.connectionBase);
  const backends: BackendSnapshot[] = upstream.map((b, i) => {
    const member = s.member(b.name);
    const t = stats.backends.get(b.name);
    const pt = periodStats.backends.get(b.name);
    return {
      name: b.name,
      port: member.port,
      pid: member.pid,
      process: member.process,
      weight: b.weight,
      state: b.state,
      removed: b.removed,
      draining: b.draining,
      backup: b.backup,
      effectiveWeight: b.effectiveWeight,
      ejectedForMs: b.ejectedForMs,
      breaker: b.breaker,
      reportedLoad: b.reportedLoad,
      checkCounter: b.checkCounter,
      ...(b.unchecked ? { unchecked: true } : {}),
      lastCheck: b.lastCheck,
      faults: faultWords(member.faults, member.degradingSince),
      inFlight: b.inFlight,
      rps: t ? lastSecondRate(t.perSecond, now) : 0,
      requests: t?.requests ?? 0,
      share: attributed > 0 && pt ? pt.requests / attributed : 0,
      expectedShare: shares[i]!,
      p50Ms: t ? t.latency.percentileMs(50) : 0,
      p99Ms: t ? t.latency.percentileMs(99) : 0,
      errors: t?.errors ?? 0,
      ...(connections[i] ? { connections: connections[i] } : {}),
      ...(s.webSockets ? { webSockets: s.webSockets.backends[i]! } : {}),
      ...(b.pool ? { pool: b.pool.name } : {}),
    };
  });
  const pools = new Map(upstream.flatMap((b) => (b.pool ? [[b.pool.name, b.pool.algo] as const] : [])));
  const rps = lastSecondRate(stats.perSecond, now);
  const errorRps = lastSecondRate(stats.errorsPerSecond, now);
  return {
    algo: s.algo,
    ...(scenario.mode === 'tcp' ? { mode: 'tcp' as const } : {}),
    ...(scenario.engine !== 'lblab' ? { engine: scenario.engine } : {}),
    listen: s.listen,
    ...(pools.size > 0 ? { pools: [...pools].map(([name, algo]) => ({ name, algo })) } : {}),
    elapsedMs: now,
    periodStartMs: period?.startMs ?? 0,
    durationMs: scenario.durationMs,
    rps,
    concurrency: s.load.concurrency,
    ...(s.load.rate !== undefined ? { rate: s.load.rate } : {}),
    paused: s.load.paused,
    ...(s.webSockets ? { webSockets: s.webSockets.run } : {}),
    requests: stats.requests,
    errors: stats.errors,
    errorRate: rps > 0 ? errorRps / rps : 0,
    backends,
    // WebSocket clients send no requests: no req/s to chart, and the histogram is their echo round trip.
    ...(s.webSockets ? {} : { history: history(stats, scenario.backends.map((b) => b.name), now) }),
    latency: latencyView(s.webSockets?.echo ?? stats.latency),
    events: s.events.slice(-20),
    ...layerSnapshot(scenario, s.counters),
    ...(s.regions
      ? {
          regions: {
            policy: s.regions.record.policy,
            clientRegions: s.regions.record.clientRegions.map((c) => ({
              name: c.name,
              servedIn: s.regions!.servedIn(c.name),
              requests: c.requests,
              remoteShare: c.requests > 0 ? c.remote / c.requests : 0,
              ...(c.localMs ? { localP50: c.localMs.p50 } : {}),
              ...(c.remoteMs ? { remoteP50: c.remoteMs.p50 } : {}),
            })),
          },
        }
      : {}),
    ...(scenario.sessions && s.sessions ? { sessions: sessionsSnapshot(scenario.sessions, s.sessions) } : {}),
    ...(s.balancers ? { balancers: s.balancers } : {}),
  };
}

/** The sessions line of the header: a copy of the tally's figures. */
function sessionsSnapshot(mode: NonNullable<RunScenario['sessions']>, tally: SessionTally): NonNullable<RunSnapshot['sessions']> {
  const lastLoss = tally.lastLoss();
  return { mode, users: tally.users, totals: { ...tally.totals }, ...(lastLoss ? { lastLoss } : {}) };
}

/** A histogram (µs) as the live views draw it: bucket counts over {@link LATENCY_BUCKET_EDGES_MS} and percentiles in ms. */
function latencyView(h: LatencyHistogram): RunSnapshot['latency'] {
  return { edgesMs: [...LATENCY_BUCKET_EDGES_MS], counts: h.bucketCounts(), ...h.summary() };
}

/** Sticky mode and rate limit, with the balancer's counters, for the header; nothing when both are off. */
function layerSnapshot(scenario: RunScenario, counters: () => LayerCounters): Pick<RunSnapshot, 'sticky' | 'rateLimit'> {
  const { sticky, rateLimit } = scenario;
  if (!sticky && !rateLimit) return {};
  const c = counters();
  return {
    ...(sticky ? { sticky: { config: sticky, entries: c.stickEntries, cookiesSet: c.cookiesSet } } : {}),
    ...(rateLimit ? { rateLimit: { config: rateLimit, limited: c.rateLimited } } : {}),
  };
}

/** The last {@link HISTORY_SECONDS} whole seconds (the one under way left out) of each backend's responses per second. */
function history(stats: TrafficStats, names: readonly string[], nowMs: number): RunSnapshot['history'] {
  const current = Math.floor(nowMs / 1000);
  const fromS = Math.max(0, current - HISTORY_SECONDS);
  const perBackend = names.map((name) => {
    const per = stats.backends.get(name)?.perSecond ?? [];
    return Array.from({ length: current - fromS }, (_, k) => per[fromS + k] ?? 0);
  });
  return { fromS, perBackend };
}
