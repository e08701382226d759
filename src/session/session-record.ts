import { expectedShares } from '../balancer/algorithms/index.js';
import type { BalancerReport } from '../balancer/balancer-thread.js';
import { proxyRecord } from '../balancer/retry-policy.js';
import { routesRecord } from '../balancer/routes.js';
import type { FleetMember } from '../backend/fleet.js';
import type { RunRecord } from '../metrics/run-record.js';
import type { RunScenario } from '../scenario/scenario.js';

/**
 * The `config` part of a `start` run's record: what the scenario asked of
 * the balancer and the load. `maxInFlight` is the load generator's cap as
 * it ran (open model). WebSocket clients (`--protocol ws`) are recorded as
 * `webSocket` instead of a load model.
 */
export function scenarioRecord(scenario: RunScenario, maxInFlight: number | undefined): RunRecord['config'] {
  return {
    command: 'start',
    mode: scenario.mode,
    algo: scenario.algo,
    weights: [...scenario.weights],
    ...(scenario.webSocket
      ? { webSocket: { ...scenario.webSocket } }
      : scenario.rate !== undefined
        ? { rate: scenario.rate, maxInFlight }
        : { concurrency: scenario.concurrency }),
    ...(scenario.requests !== undefined && { requests: scenario.requests }),
    ...(scenario.clients !== undefined && { clients: scenario.clients }),
    ...(scenario.http2Clients && { protocol: 'http2' as const, ...scenario.http2Clients }),
    health: { ...scenario.health },
    proxy: proxyRecord(
      scenario.connection,
      scenario.retry,
      scenario.passive,
      scenario.backups,
      { slowStartMs: scenario.slowStartMs, panicThreshold: scenario.panicThreshold, onMarkedDown: scenario.onMarkedDown },
      { sticky: scenario.sticky, rateLimit: scenario.rateLimit },
    ),
    ...(scenario.routing ? { routes: routesRecord(scenario.routing) } : {}),
    ...(scenario.tls ? { tls: true } : {}),
    ...(scenario.http2 ? { http2: true } : {}),
    ...(scenario.proxy === 'forward' ? { clientsVia: 'forward-proxy' as const } : {}),
    ...(scenario.engine !== 'lblab' ? { engine: scenario.engine } : {}),
    ...(scenario.sessions ? { sessions: scenario.sessions } : {}),
    ...(scenario.ha ? { ha: { balancers: 2 as const, mode: scenario.ha.mode, intervalMs: scenario.ha.intervalMs } } : {}),
  };
}

/**
 * What the record can say of the balancer when its thread is gone: the
 * configured backends and their expected shares; health state and retries
 * are unknown (none counted).
 */
export function reportWithoutBalancer(scenario: RunScenario, members: readonly FleetMember[]): BalancerReport {
  const shares = expectedShares(scenario.algo, scenario.weights);
  return {
    backends: members.map((m, i) => ({ name: m.name, url: `http://${scenario.host}:${m.port}`, weight: scenario.weights[i]!, expectedShare: shares[i]! })),
    retries: { total: 0, succeeded: 0 },
    clientAborts: 0,
  };
}
