import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LatencyProfile } from '../cli/parse.js';
import { RuntimeError, UsageError } from '../errors.js';
import type { BackendFaults } from './ipc.js';
import { sampleLatencyMs } from './latency.js';

/** How one backend behaves. Latency in ms; `errorRate` a fraction 0..1. */
export type BackendConfig = {
  name: string;
  /** 0 = any free port. */
  port: number;
  host: string;
  latency: LatencyProfile;
  errorRate: number;
  /** Max requests served at once; the rest wait in a FIFO queue. `Infinity` = no limit. */
  capacity: number;
};

/** What `GET /health` answers (JSON). `load` = in-flight ÷ capacity (0 when capacity is unlimited). */
export type BackendHealth = {
  name: string;
  inFlight: number;
  queued: number;
  capacity: number | null;
  load: number;
  served: number;
  uptimeMs: number;
};

/** A running backend server: its port, its counters and its fault switches. */
export type RunningBackend = {
  port: number;
  health(): BackendHealth;
  setFaults(faults: BackendFaults): void;
  recover(): void;
  close(): Promise<void>;
};

/**
 * Starts a backend HTTP server. Every response carries
 * `x-lblab-backend: <name>`. `GET /health` answers 200 JSON
 * ({@link BackendHealth}) while healthy, 503 under the `healthFail` fault.
 * Every other request waits for a capacity slot (FIFO), then for a service
 * time drawn from the latency profile, then answers 200 (or 500 with the
 * configured error rate). Capacity-limited queueing is what makes a weak
 * server slow under load rather than merely delayed.
 * @throws {UsageError} when the port is in use; {@link RuntimeError} on other listen errors.
 */
export async function startBackendServer(config: BackendConfig): Promise<RunningBackend> {
  const startedAt = Date.now();
  let inFlight = 0;
  let served = 0;
  let faults: Required<BackendFaults> = { slowFactor: 1, errorRate: 0, healthFail: false };
  const queue: Array<() => void> = [];
  const body = Buffer.from(`hello from ${config.name}\n`);

  const health = (): BackendHealth => ({
    name: config.name,
    inFlight,
    queued: queue.length,
    capacity: Number.isFinite(config.capacity) ? config.capacity : null,
    load: Number.isFinite(config.capacity) ? inFlight / config.capacity : 0,
    served,
    uptimeMs: Date.now() - startedAt,
  });

  const serve = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    inFlight++;
    const delay = sampleLatencyMs(config.latency) * faults.slowFactor;
    const finish = (): void => {
      inFlight--;
      served++;
      const next = queue.shift();
      if (next) next();
      if (res.destroyed) return;
      const failed = Math.random() < config.errorRate || Math.random() < faults.errorRate;
      res.writeHead(failed ? 500 : 200, {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': failed ? 0 : body.length,
        'x-lblab-backend': config.name,
      });
      res.end(failed || req.method === 'HEAD' ? undefined : body);
    };
    if (delay > 0) setTimeout(finish, delay);
    else setImmediate(finish);
  };

  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/health' || req.url?.startsWith('/health?')) {
      const payload = JSON.stringify(health());
      res.writeHead(faults.healthFail ? 503 : 200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
        'x-lblab-backend': config.name,
      });
      res.end(payload);
      return;
    }
    if (inFlight < config.capacity) serve(req, res);
    else queue.push(() => serve(req, res));
  });
  server.keepAliveTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new UsageError(`Expected \`--port\` to be a free port, but ${config.host}:${config.port} is already in use`));
      } else reject(new RuntimeError(`backend ${config.name} could not listen on ${config.host}:${config.port}: ${err.message}`));
    });
    server.listen(config.port, config.host, () => resolve());
  });

  return {
    port: (server.address() as AddressInfo).port,
    health,
    setFaults(next) {
      faults = { ...faults, ...next };
    },
    recover() {
      faults = { slowFactor: 1, errorRate: 0, healthFail: false };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
