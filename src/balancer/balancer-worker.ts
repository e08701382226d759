import { parentPort, workerData } from 'node:worker_threads';
import { isCodedError, UsageError } from '../errors.js';
import { Balancer } from './balancer.js';
import { formatCheckResult } from './health/active-health-check.js';
import type { BalancerThreadData, FromBalancer, ToBalancer, UpstreamState } from './balancer-thread.js';
import { TcpBalancer } from './tcp/tcp-balancer.js';
import type { UpstreamFrontEnd } from './upstream.js';

/**
 * The balancer's own thread, used by `lblab start`: it proxies and health
 * checks and nothing else, so the dashboard, the metrics and the fleet on the
 * main thread cannot slow requests down. It posts the upstream's state every
 * `stateIntervalMs`, each health transition at once, and answers `report`
 * and `close`.
 */

const data = workerData as BalancerThreadData;
const port = parentPort!;
const post = (m: FromBalancer): void => port.postMessage(m);
const clock = (): number => performance.timeOrigin + performance.now() - data.epochStartMs;
// The L4 balancer in `tcp` mode; the HTTP one otherwise. Both are an upstream core with the same interface.
const balancer: UpstreamFrontEnd =
  data.config.mode === 'tcp' ? new TcpBalancer({ ...data.config, clock }) : new Balancer({ ...data.config, clock, recordTraffic: false });
const states = (): UpstreamState[] => {
  const now = balancer.nowMs();
  return balancer.backends.map((b) => {
    const connections = balancer.connectionState(b, now);
    const pool = balancer.routedPoolOf(b);
    return {
      name: b.name,
      origin: b.origin,
      weight: b.configuredWeight,
      effectiveWeight: b.weight,
      inFlight: b.inFlight,
      state: b.health.state,
      checkCounter: b.health.display,
      lastCheck: b.lastCheck ? formatCheckResult(b.lastCheck) : '',
      reportedLoad: b.reportedLoad ?? null,
      removed: b.removed,
      draining: b.draining,
      backup: b.backup,
      ejectedForMs: b.outlier.ejectedUntilMs === undefined ? null : Math.max(0, b.outlier.ejectedUntilMs - now),
      breaker: b.breaker?.state ?? null,
      ...(connections ? { connections } : {}),
      ...(pool ? { pool } : {}),
    };
  });
};

balancer.on('transition', (t) => post({ type: 'transition', transition: t }));
balancer.on('backend', (event) => post({ type: 'backend-event', event }));
const ticker = setInterval(() => post({ type: 'state', states: states(), counters: balancer.layerCounters() }), data.stateIntervalMs);

port.on('message', (m: ToBalancer) => {
  if (m.type === 'listen') {
    balancer.listen().then(
      (address) => post({ type: 'listening', ...address, states: states() }),
      (err: Error) => post({ type: 'listen-error', message: err.message, usage: err instanceof UsageError, coded: isCodedError(err) }),
    );
  } else if (m.type === 'report') {
    post({
      type: 'report',
      backends: balancer.backendInfos(),
      retries: { total: balancer.retries, succeeded: balancer.retriesSucceeded },
      clientAborts: balancer.clientAborts,
      ...balancer.layerReport(),
    });
  } else if (m.type === 'change') {
    try {
      balancer.apply(m.change);
    } catch (err) {
      // The main thread checked the change; should a race still make it
      // invalid, the upstream stays as it was and the run's log says so.
      post({ type: 'change-error', message: (err as Error).message });
    }
    post({ type: 'state', states: states() });
  } else if (m.type === 'close') {
    clearInterval(ticker);
    void balancer.close().finally(() => post({ type: 'closed' }));
  }
});
