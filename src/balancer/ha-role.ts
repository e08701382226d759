import http from 'node:http';
import type { HaMode } from '../scenario/ha.js';
import { listenOn } from './listen.js';

/**
 * One balancer's part in a pair (`--balancers 2`), as its process is
 * started with: its name and own address, the mode, whether it starts
 * active or passive, the shared port, the virtual address and its peer
 * (`active-passive`), and the check cadence (ms).
 */
export type HaRole = {
  name: string;
  mode: HaMode;
  role: 'active' | 'passive';
  ownAddress: string;
  virtualAddress: string;
  port: number;
  /** The other balancer (its name and own address), which a passive one checks. */
  peer: { name: string; address: string };
  intervalMs: number;
  fall: number;
  timeoutMs: number;
};

/** What a pair member tells lblab of itself: active (serving) or passive (checking its peer). */
export type HaState = 'active' | 'passive';


/**
 * The check endpoint of a pair member in `active-passive`: a small HTTP
 * server on its own address and the pair's port that answers every request
 * `200 {"name":…,"state":…}`. It stands for keepalived's VRRP adverts: the
 * peer that stops answering is taken for dead. Resolves once listening.
 * @throws {UsageError} when the port is taken on that address.
 */
export async function startCheckEndpoint(role: HaRole, state: () => HaState): Promise<http.Server> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify({ name: role.name, state: state() }));
  });
  await listenOn(server, role.ownAddress, role.port);
  return server;
}

/**
 * One check of the peer's endpoint: resolves to undefined when it answered
 * 200 within `timeoutMs` saying it is active, else to what went wrong
 * (`ECONNREFUSED`, `timeout after 200ms`, `status 500`, `peer is passive`:
 * a peer that is passive too holds nothing, as a keepalived backup sends no
 * adverts — so two passive members never wait on each other). Never rejects.
 */
export function checkPeer(address: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: address, port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('error', () => resolve('reset'));
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve(`status ${res.statusCode}`);
        resolve(/"state":"active"/.test(body) ? undefined : 'peer is passive');
      });
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(`timeout after ${timeoutMs}ms`);
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/**
 * The passive member's watch: checks the peer every `intervalMs` (a check
 * runs to its end before the next is due, as the interval is also its
 * timeout) and calls `takeOver` once `fall` checks in a row have failed —
 * keepalived's backup declaring the master down when its adverts stop. The
 * returned function stops the watch. `clock` is ms since the run's time 0.
 */
export function watchPeer(role: HaRole, clock: () => number, takeOver: (failed: { failedChecks: number; lastError: string; firstFailedAtMs: number }) => void): () => void {
  let stopped = false;
  let failures = 0;
  let firstFailedAtMs = 0;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const startedAt = performance.now();
      const error = await checkPeer(role.peer.address, role.port, role.timeoutMs);
      if (stopped) return;
      if (error === undefined) failures = 0;
      else {
        if (failures === 0) firstFailedAtMs = clock();
        failures++;
        if (failures >= role.fall) {
          stopped = true;
          takeOver({ failedChecks: failures, lastError: error, firstFailedAtMs });
          return;
        }
      }
      await new Promise((r) => setTimeout(r, Math.max(0, role.intervalMs - (performance.now() - startedAt))));
    }
  };
  void loop();
  return () => {
    stopped = true;
  };
}
