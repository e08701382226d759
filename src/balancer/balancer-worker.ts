import type http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { isCodedError, UsageError } from '../errors.js';
import { Balancer } from './balancer.js';
import { formatCheckResult } from './health/active-health-check.js';
import type { BalancerThreadData, FromBalancer, ToBalancer, UpstreamState } from './balancer-thread.js';
import { TcpBalancer } from './tcp/tcp-balancer.js';
import type { UpstreamFrontEnd } from './upstream.js';
import { startCheckEndpoint, watchPeer, type HaState } from './ha-role.js';

/**
 * The balancer's own thread, used by `lblab start`: it proxies and health
 * checks and nothing else, so the dashboard, the metrics and the fleet on the
 * main thread cannot slow requests down. It posts the upstream's state every
 * `stateIntervalMs`, each health transition at once, and answers `report`
 * and `close`.
 *
 * The same file runs a balancer in a process of its own (`--balancers 2`,
 * forked with an IPC channel: a SIGKILL of it is real and leaves lblab
 * running). It then gets its data in a first `init` message, takes its part
 * of the pair (`ha`: active, or passive watching its peer and taking the
 * virtual address over; see `ha-role.ts`) and ends when the channel closes,
 * so it never outlives lblab.
 */

/** Where the messages go: the worker thread's port, or the process's IPC channel. */
type Channel = { post: (m: FromBalancer) => void; onMessage: (listener: (m: ToBalancer) => void) => void };


function serve(data: BalancerThreadData, channel: Channel): void {
  const post = channel.post;
  const clock = (): number => performance.timeOrigin + performance.now() - data.epochStartMs;
  // The L4 balancer in `tcp` mode; the HTTP one otherwise. Both are an upstream core with the same interface.
  const balancer: UpstreamFrontEnd =
    data.config.mode === 'tcp' ? new TcpBalancer({ ...data.config, clock }) : new Balancer({ ...data.config, clock, recordTraffic: false });
  const ha = data.ha;
  let haState: HaState = ha?.role ?? 'active';
  let checkEndpoint: http.Server | undefined;
  let stopWatch: (() => void) | undefined;
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
  const stateMessage = (): FromBalancer => ({
    type: 'state',
    states: states(),
    counters: balancer.layerCounters(),
    ...(ha ? { ha: { state: haState, activity: balancer.clientActivity() } } : {}),
  });
  const listenError = (err: Error): FromBalancer => ({ type: 'listen-error', message: err.message, usage: err instanceof UsageError, coded: isCodedError(err) });

  /**
   * Starts serving: at once for an active member (and lblab's one balancer),
   * at takeover for a passive one, which only answers its check endpoint and
   * watches its peer until then.
   */
  const listen = async (): Promise<{ host: string; port: number; url: string }> => {
    if (!ha) return balancer.listen();
    if (ha.mode === 'active-passive') checkEndpoint = await startCheckEndpoint(ha, () => haState);
    if (ha.role === 'active') return balancer.listen();
    // The standby checks the backends all along, so it knows who is DOWN when it takes over.
    balancer.startHealthChecks();
    const watch = (): void => {
      stopWatch = watchPeer(ha, clock, (failed) => {
        balancer.listen().then(
          () => {
            haState = 'active';
            post({ type: 'ha-takeover', takeover: { atMs: clock(), balancer: ha.name, address: `${ha.virtualAddress}:${ha.port}`, ...failed } });
            post(stateMessage());
          },
          (err: Error) => {
            // The address is still held (a slow active one missed its checks): watch on.
            post({ type: 'ha-error', message: `${ha.name} could not take over ${ha.virtualAddress}:${ha.port}: ${err.message}; it goes on checking ${ha.peer.name}` });
            watch();
          },
        );
      });
    };
    watch();
    const url = `${data.config.tls ? 'https' : 'http'}://${ha.virtualAddress}:${ha.port}/`;
    return { host: ha.virtualAddress, port: ha.port, url };
  };

  balancer.on('transition', (t) => post({ type: 'transition', transition: t }));
  balancer.on('backend', (event) => post({ type: 'backend-event', event }));
  const ticker = setInterval(() => post(stateMessage()), data.stateIntervalMs);

  channel.onMessage((m: ToBalancer) => {
    if (m.type === 'listen') {
      listen().then(
        (address) => post({ type: 'listening', ...address, states: states() }),
        (err: Error) => post(listenError(err)),
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
      stopWatch?.();
      checkEndpoint?.close();
      checkEndpoint?.closeAllConnections();
      void balancer.close().finally(() => post({ type: 'closed' }));
    }
  });
}

if (parentPort) {
  const port = parentPort;
  serve(workerData as BalancerThreadData, { post: (m) => port.postMessage(m), onMessage: (listener) => port.on('message', listener) });
} else {
  // A balancer process of its own: it ends with lblab (the IPC channel closes
  // however lblab ended), and the terminal's Ctrl-C is lblab's to handle.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGINT', () => undefined);
  const post = (m: FromBalancer): void => {
    if (process.connected) process.send!(m);
  };
  process.once('message', (m: { type: 'init'; data: BalancerThreadData }) => {
    serve(m.data, { post, onMessage: (listener) => process.on('message', listener) });
  });
}
