import { Balancer, type BalancerConfig } from '../balancer/balancer.js';
import { TcpBalancer } from '../balancer/tcp/tcp-balancer.js';
import { proxyRecord } from '../balancer/retry-policy.js';
import { formatRateLimit } from '../balancer/rate-limit.js';
import { formatSticky } from '../balancer/sticky/sticky-sessions.js';
import { routesRecord } from '../balancer/routes.js';
import { buildRunRecord, type RunEvent, type RunRecord } from '../metrics/run-record.js';
import { formatEventLine } from '../session/progress-line.js';
import { EngineBalancer, type EngineBalancerConfig } from '../engines/engine-balancer.js';
import { findEngineProgram } from '../engines/engines.js';
import type { UpstreamScenario } from '../scenario/scenario.js';
import { emitRecord, untilSignal } from './output.js';

/**
 * Runs the balancer alone until SIGINT/SIGTERM (or `durationMs`, when > 0),
 * (the L4 {@link TcpBalancer} with `mode: 'tcp'`), printing health transitions and backend events (ejections, circuit
 * breaker, slow start, panic) on stderr as they happen, then the report of
 * what it proxied: per-backend counts as the balancer saw them, states and
 * transitions.
 */
export async function runBalance(config: BalancerConfig & UpstreamScenario, durationMs: number, out: { json?: boolean; out?: string }): Promise<void> {
  if (config.engine !== 'lblab') return runEngineBalance({ ...config, engine: config.engine }, durationMs, out);
  const tcp = config.mode === 'tcp';
  // At L4 the record has connections and bytes per backend, no requests.
  const balancer = tcp ? new TcpBalancer(config) : new Balancer(config);
  const { events, log } = eventLog();
  balancer.on('transition', (t) => log({ atMs: Math.round(t.atMs), type: t.to, target: t.backend, detail: t.reason }));
  balancer.on('backend', (b) => log({ atMs: Math.round(b.atMs), type: b.type, ...(b.backend ? { target: b.backend } : {}), detail: b.detail }));
  const stop = untilSignal();
  const { url } = await balancer.listen();
  process.stderr.write(
    `lblab balance: listening on ${url} (${config.algo}${tcp ? ' of TCP connections' : ''} over ${config.backends.map((b) => `${b.name}=${b.url}`).join(' ')}` +
      (config.sticky ? `; sticky ${formatSticky(config.sticky)}` : '') +
      (config.rateLimit ? `; rate limit ${formatRateLimit(config.rateLimit)} per client IP` : '') +
      '); Ctrl-C to stop\n',
  );
  if (config.routing) {
    for (const r of routesRecord(config.routing)) process.stderr.write(`  route ${r.match} → ${r.pool} (${r.backends.join(',')}${r.algo ? ` ${r.algo}` : ''})\n`);
    if (config.routing.defaultPool === undefined) process.stderr.write('  no default pool: a request no route matches gets 404\n');
  }
  if (durationMs > 0) await Promise.race([stop, new Promise((r) => setTimeout(r, durationMs).unref())]);
  else await stop;

  const record = buildRunRecord({
    config: balanceRecordConfig(config, balancer.algo, balancer.backends.map((b) => b.configuredWeight)),
    durationMs: balancer.nowMs(),
    stats: balancer.stats,
    backends: balancer.backendInfos(),
    events,
    retries: { total: balancer.retries, succeeded: balancer.retriesSucceeded },
    clientAborts: balancer.clientAborts,
    ...balancer.layerReport(),
  });
  await balancer.close();
  await emitRecord(record, out);
}

/**
 * `lblab balance --engine haproxy|nginx`: the real engine in front of the
 * `--backend` servers until SIGINT/SIGTERM (or `durationMs`), health
 * transitions as HAProxy's stats socket tells them printed on stderr as they
 * happen, then the report of what the engine served, counted from its own
 * access log (per backend: responses, statuses, the engine's time per
 * request, in ms resolution) — nginx OSS has no checks, so its backends have
 * no health there. In `--mode tcp` the engines log no requests: the report
 * has the health alone.
 */
async function runEngineBalance(config: EngineBalancerConfig, durationMs: number, out: { json?: boolean; out?: string }): Promise<void> {
  findEngineProgram(config.engine);
  const t0 = performance.timeOrigin + performance.now();
  const balancer = new EngineBalancer(config, t0, true);
  const { events, log } = eventLog();
  balancer.on('transition', (t) => log({ atMs: Math.round(t.atMs), type: t.to, target: t.backend, detail: t.reason }));
  balancer.on('failed', (err) => log({ atMs: Math.round(balancer.nowMs()), type: 'error', detail: err.message }));
  const stop = untilSignal();
  const { url } = await balancer.listen();
  process.stderr.write(
    `lblab balance: ${config.engine} (pid ${balancer.enginePid ?? '?'}) listening on ${url} (${config.algo} over ${config.backends.map((b) => `${b.name}=${b.url}`).join(' ')}); Ctrl-C to stop\n` +
      (config.engine === 'nginx' ? '  nginx OSS has no active health checks: a failing backend is skipped after failed tries (max_fails, fail_timeout)\n' : ''),
  );
  const failed = new Promise<void>((resolve) => balancer.once('failed', () => resolve()));
  if (durationMs > 0) await Promise.race([stop, failed, new Promise((r) => setTimeout(r, durationMs).unref())]);
  else await Promise.race([stop, failed]);
  const report = await balancer.report();
  const record = buildRunRecord({
    config: { ...balanceRecordConfig(config, config.algo, config.backends.map((b) => b.weight)), engine: config.engine },
    durationMs: balancer.nowMs(),
    stats: balancer.stats,
    backends: report.backends,
    events,
  });
  await balancer.close();
  await emitRecord(record, out);
}

/** The events of a `balance` run, each also printed on stderr as it happens. */
function eventLog(): { events: RunEvent[]; log: (e: RunEvent) => void } {
  const events: RunEvent[] = [];
  return {
    events,
    log: (e) => {
      events.push(e);
      process.stderr.write(formatEventLine(e) + '\n');
    },
  };
}

/** The `config` of a `balance` run's record: what its flags asked of the balancer, with the algorithm and weights it ran. */
function balanceRecordConfig(config: UpstreamScenario, algo: string, weights: number[]): RunRecord['config'] {
  return {
    command: 'balance',
    mode: config.mode,
    algo,
    weights,
    health: { ...config.health },
    proxy: proxyRecord(config.connection, config.retry, config.passive, config.backups, { slowStartMs: config.slowStartMs, panicThreshold: config.panicThreshold, onMarkedDown: config.onMarkedDown }, { sticky: config.sticky, rateLimit: config.rateLimit }),
    ...(config.routing ? { routes: routesRecord(config.routing) } : {}),
    ...(config.tls ? { tls: true } : {}),
    ...(config.http2 ? { http2: true } : {}),
  };
}
