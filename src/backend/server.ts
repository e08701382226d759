import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { LatencyProfile } from '../scenario/latency-profile.js';
import { RuntimeError, UsageError } from '../errors.js';
import { NO_FAULTS } from './faults.js';
import { mergeFaults, type BackendFaults } from './ipc.js';
import { sampleLatencyMs } from './latency.js';
import { RequestView, type BackendView } from './request-view.js';
import { MAX_CONCURRENT_STREAMS, acceptH2cToo, responseGone, trackSessions, type ClientRequest, type ClientResponse } from '../balancer/front-end.js';
import { openSessions } from './session-stores.js';
import { SESSION_HEADER, type SessionConfig, type SessionVisit } from './sessions.js';

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
  /** With a WebSocket open, push a text message every this many ms (`--ws-push`); 0 or absent = never. */
  wsPushMs?: number;
  /** Keep user sessions (`--sessions`): in memory, in a shared store, or in signed tokens; absent = none. */
  sessions?: SessionConfig;
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
  /** WebSockets open now. */
  webSockets: number;
};

/** A running backend server: its port, its counters and its fault switches ({@link BackendFaults}; `recover` clears them all). */
export type RunningBackend = {
  port: number;
  health(): BackendHealth;
  setFaults(faults: BackendFaults): void;
  recover(): void;
  /** What it saw of its requests since it started (peers, headers): see {@link BackendView}. */
  view(): BackendView;
  close(): Promise<void>;
};

/**
 * Starts a backend HTTP server. Every response carries
 * `x-lblab-backend: <name>`. `GET /health` answers 200 JSON
 * ({@link BackendHealth}) while healthy, 503 under the `healthFail` fault.
 * Every other request waits for a capacity slot (FIFO), then for a service
 * time drawn from the latency profile (× `slowFactor`, + the degradation so
 * far), then answers 200 (or 500 with the configured error rate, or the
 * fault's status with the fault's rate). Capacity-limited queueing is what
 * makes a weak server slow under load rather than merely delayed.
 *
 * Each request but `/health` is counted in the backend's view of them
 * (peer address, header names, proxy header values: {@link BackendView}).
 *
 * Faults ({@link BackendFaults}): `hang` holds every answer, `/health`
 * included, until it is cleared, then gives them; `reset` sends headers and
 * half the body, then resets the connection (`/health` unaffected).
 *
 * WebSockets (RFC 6455, the `ws` library): an upgrade on any path but
 * `/health` is accepted; the backend sends one text message
 * `{"backend":"<name>"}`, then echoes every message it gets (text as text,
 * binary as binary) and, with `wsPushMs`, sends
 * `{"backend":"<name>","push":<n>}` every `wsPushMs` ms. Under `hang` an
 * upgrade gets no answer until the fault is cleared, and open WebSockets
 * neither echo nor push (what arrives meanwhile is dropped, never echoed).
 * A kill of the process drops them all; `close` terminates them.
 *
 * Sessions (`config.sessions`, see `SessionStore`): every request but
 * `/health` and upgrades reads its `lblab_session` cookie when it arrives —
 * none logs the user in (`Set-Cookie`), a known one counts a visit — and
 * its response says `x-lblab-session: new|found|lost`.
 * @throws {UsageError} when the port is in use; {@link RuntimeError} on other listen errors, or when the shared session store cannot be reached.
 */
export async function startBackendServer(config: BackendConfig): Promise<RunningBackend> {
  const startedAt = Date.now();
  let inFlight = 0;
  let served = 0;
  let faults: Required<BackendFaults> = { ...NO_FAULTS };
  /** When the degrade fault went on (epoch ms). */
  let degradingSince = 0;
  const queue: Array<() => void> = [];
  /** Answers the hang fault holds; each leaves the set when its client goes away. */
  const held = new Set<() => void>();
  const body = Buffer.from(`hello from ${config.name}\n`);
  const seen = new RequestView();
  const wss = new WebSocketServer({ noServer: true });
  const hello = JSON.stringify({ backend: config.name });
  const sessions = config.sessions ? await openSessions(config.sessions) : undefined;

  const health = (): BackendHealth => ({
    name: config.name,
    inFlight,
    queued: queue.length,
    capacity: Number.isFinite(config.capacity) ? config.capacity : null,
    load: Number.isFinite(config.capacity) ? inFlight / config.capacity : 0,
    served,
    uptimeMs: Date.now() - startedAt,
    webSockets: wss.clients.size,
  });

  /** Runs `answer` once the hang fault is cleared, unless the client has gone by then. */
  const hold = (res: ClientResponse, answer: () => void): void => {
    const entry = (): void => {
      res.off('close', drop);
      answer();
    };
    const drop = (): void => {
      held.delete(entry);
    };
    res.once('close', drop);
    held.add(entry);
  };

  const releaseHeld = (): void => {
    const waiting = [...held];
    held.clear();
    for (const answer of waiting) answer();
  };

  /** Extra service time in ms the degrade fault adds right now. */
  const degradationMs = (): number =>
    faults.degradeMsPerSecond > 0 ? (faults.degradeMsPerSecond * (Date.now() - degradingSince)) / 1000 : 0;

  const answerHealth = (res: ClientResponse): void => {
    if (faults.hang) return hold(res, () => answerHealth(res));
    if (responseGone(res)) return;
    const payload = JSON.stringify(health());
    res.writeHead(faults.healthFail ? 503 : 200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      'x-lblab-backend': config.name,
    });
    res.end(payload);
  };

  /** The response headers of the user's session: what became of it, and its cookie when one is set. */
  const sessionHeaders = (visit: SessionVisit | undefined): http.OutgoingHttpHeaders =>
    visit ? { [SESSION_HEADER]: visit.outcome, ...(visit.setCookie ? { 'set-cookie': visit.setCookie } : {}) } : {};

  const answer = (req: ClientRequest, res: ClientResponse, session: Promise<SessionVisit> | undefined): void => {
    if (faults.hang) return hold(res, () => answer(req, res, session));
    if (responseGone(res)) return;
    if (session) {
      void session.then((visit) => respond(req, res, visit));
      return;
    }
    respond(req, res, undefined);
  };

  const respond = (req: ClientRequest, res: ClientResponse, visit: SessionVisit | undefined): void => {
    if (responseGone(res)) return;
    if (faults.reset) {
      // Headers and half the body reach the client, then an RST: a
      // connection reset mid-response, which no balancer can retry.
      res.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': body.length,
        'x-lblab-backend': config.name,
        ...sessionHeaders(visit),
      });
      // Over HTTP/2 the reset is the stream's (RST_STREAM INTERNAL_ERROR); the connection's other streams go on.
      const cut = (): void => {
        if ('stream' in res) res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        else res.socket?.resetAndDestroy();
      };
      (res as http.ServerResponse).write(body.subarray(0, Math.floor(body.length / 2)), cut);
      return;
    }
    const profileFailed = Math.random() < config.errorRate;
    const faultFailed = !profileFailed && Math.random() < faults.errorRate;
    const failed = profileFailed || faultFailed;
    res.writeHead(profileFailed ? 500 : faultFailed ? faults.errorStatus : 200, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': failed ? 0 : body.length,
      'x-lblab-backend': config.name,
      ...sessionHeaders(visit),
    });
    if (failed || req.method === 'HEAD') res.end();
    else res.end(body);
  };

  const serve = (req: ClientRequest, res: ClientResponse, session: Promise<SessionVisit> | undefined): void => {
    inFlight++;
    const delay = sampleLatencyMs(config.latency) * faults.slowFactor + faults.slowAddMs + degradationMs();
    const finish = (): void => {
      inFlight--;
      served++;
      const next = queue.shift();
      if (next) next();
      answer(req, res, session);
    };
    if (delay > 0) setTimeout(finish, delay);
    else setImmediate(finish);
  };

  const admit = (req: ClientRequest, res: ClientResponse, session: Promise<SessionVisit> | undefined): void => {
    if (inFlight < config.capacity) serve(req, res, session);
    else queue.push(() => serve(req, res, session));
  };

  const onRequest = (req: ClientRequest, res: ClientResponse): void => {
    req.resume();
    if (req.url === '/health' || req.url?.startsWith('/health?')) return answerHealth(res);
    seen.record(req);
    // Read as the request arrives: the store's round trip overlaps the service time.
    const session = sessions?.visit(req.headers.cookie);
    // A hung backend reads the request and does nothing more: no slot taken.
    if (faults.hang) return hold(res, () => admit(req, res, session));
    admit(req, res, session);
  };
  const server = http.createServer(onRequest);
  server.keepAliveTimeout = 60_000;
  // h2c with prior knowledge on the same port: what an L4 balancer passes through from an HTTP/2 client.
  const h2c = http2.createServer({ settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS } }, onRequest);
  const h2Sessions = new Set<http2.ServerHttp2Session>();
  trackSessions(h2c, h2Sessions);
  acceptH2cToo(server, h2c, 10_000);

  /** Greets, echoes and pushes on one accepted WebSocket; nothing of it while the hang fault is on. */
  const converse = (ws: WebSocket): void => {
    ws.send(hello);
    ws.on('message', (data, isBinary) => {
      if (!faults.hang) ws.send(data, { binary: isBinary });
    });
    ws.on('error', () => undefined);
    const pushMs = config.wsPushMs ?? 0;
    if (pushMs > 0) {
      let n = 0;
      const timer = setInterval(() => {
        if (!faults.hang) ws.send(JSON.stringify({ backend: config.name, push: ++n }));
      }, pushMs);
      ws.once('close', () => clearInterval(timer));
    }
  };
  const upgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (socket.destroyed) return;
    if (faults.hang) {
      // Held as a request is: answered when the fault is cleared, unless the client has gone.
      const entry = (): void => {
        socket.off('close', drop);
        socket.off('end', drop);
        upgrade(req, socket, head);
      };
      const drop = (): void => {
        held.delete(entry);
        socket.destroy();
      };
      // node:http leaves the socket half-open when the client ends it: a client gone is one that ended.
      socket.once('end', drop);
      socket.once('close', drop);
      held.add(entry);
      return;
    }
    wss.handleUpgrade(req, socket, head, converse);
  };
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    if (req.url === '/health' || req.url?.startsWith('/health?')) {
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    seen.record(req);
    upgrade(req, socket, head);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      void sessions?.close();
      if (err.code === 'EADDRINUSE') {
        reject(new UsageError(`Expected \`--port\` to be a free port, but ${config.host}:${config.port} is already in use`));
      } else reject(new RuntimeError(`backend ${config.name} could not listen on ${config.host}:${config.port}: ${err.message}`));
    });
    server.listen(config.port, config.host, () => resolve());
  });

  return {
    port: (server.address() as AddressInfo).port,
    health,
    view: () => seen.summary(),
    setFaults(next) {
      const wasHanging = faults.hang;
      const wasDegrading = faults.degradeMsPerSecond > 0;
      faults = mergeFaults(faults, next);
      if (!wasDegrading && faults.degradeMsPerSecond > 0) degradingSince = Date.now();
      if (wasHanging && !faults.hang) releaseHeld();
    },
    recover() {
      faults = { ...NO_FAULTS };
      releaseHeld();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        for (const s of h2Sessions) s.destroy();
        server.close(() => void (sessions ? sessions.close() : Promise.resolve()).then(resolve));
        server.closeAllConnections();
      }),
  };
}
