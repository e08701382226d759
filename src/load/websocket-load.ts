import { WebSocket } from 'ws';
import { RuntimeError } from '../errors.js';
import { LatencyHistogram, type LatencySummary } from '../metrics/latency-histogram.js';

/** What `lblab load ws://…` runs. Times in ms, rate in messages per second per client. */
export type WebSocketLoadConfig = {
  /** A `ws://` URL. */
  url: string;
  /** WebSockets held open at once, one per virtual client. */
  clients: number;
  /** Messages each client sends a second (evenly paced, each client at its own phase). */
  messageRate: number;
  durationMs: number;
  /** How long a client keeps one WebSocket before it closes it and connects again (ms, `--ws-lifetime`); absent = the whole run. */
  lifetimeMs?: number;
  /** How long a dropped or refused client waits before it connects again (ms); default 100. */
  reconnectDelayMs?: number;
  /** Called every second with the counts so far (a progress line). */
  onSecond?: (progress: WebSocketProgress) => void;
};

/** The counts of a run so far, for a progress line: WebSockets open now, and totals since the start. */
export type WebSocketProgress = { atMs: number; open: number; sent: number; echoed: number; drops: number; reconnects: number };

/** What one backend (named by its hello message, `{"backend":"b1"}`) saw of the clients. */
export type WebSocketBackendTally = { connects: number; drops: number; openAtEnd: number };

/**
 * The outcome of a WebSocket load run. `connects` counts handshakes that
 * succeeded (first ones and reconnects); `expired` connections the client
 * closed itself at the end of their lifetime; `drops` connections closed by the
 * other side or failed while open; `failedConnects` handshakes refused or
 * answered without a 101; `unanswered` messages sent on a connection that
 * then dropped before their echo came back; `pendingAtEnd` those still
 * waiting when the run ended. `echo` is the round trip of a message to its
 * echo, in ms (µs resolution).
 */
export type WebSocketLoadResult = {
  url: string;
  clients: number;
  messageRate: number;
  durationMs: number;
  connects: number;
  reconnects: number;
  expired: number;
  drops: number;
  failedConnects: number;
  sent: number;
  echoed: number;
  unanswered: number;
  pendingAtEnd: number;
  pushes: number;
  echo: LatencySummary & { count: number };
  backends: Record<string, WebSocketBackendTally>;
};

/**
 * Runs `clients` virtual clients for `durationMs`, each holding one
 * WebSocket to `url`: it reads the backend's hello message (the name of who
 * serves it), sends `messageRate` messages a second, each a text `c<i>:<n>`,
 * and times each echo (send to echo, HDR histogram in µs). A client whose
 * connection drops, or whose handshake fails, connects again after
 * `reconnectDelayMs`; with `lifetimeMs`, each connection is closed by its
 * client after that long (sending stops, the echoes still due get up to 1 s)
 * and opened again at once; messages that were waiting for an echo on a dropped
 * connection are counted as unanswered, never silently lost. Other
 * messages (a backend's pushes) are counted as pushes. Resolves once every
 * socket is closed (at most about 2 s after the end).
 * @throws {RuntimeError} when every client's first handshake failed and none ever succeeded (nothing listens, or it is not a WebSocket server), naming the first failure.
 */
export async function runWebSocketLoad(config: WebSocketLoadConfig, signal?: AbortSignal): Promise<WebSocketLoadResult> {
  const hist = new LatencyHistogram();
  const backends: Record<string, WebSocketBackendTally> = {};
  const tally = (name: string): WebSocketBackendTally => (backends[name] ??= { connects: 0, drops: 0, openAtEnd: 0 });
  const r = { connects: 0, reconnects: 0, expired: 0, drops: 0, failedConnects: 0, sent: 0, echoed: 0, unanswered: 0, pendingAtEnd: 0, pushes: 0 };
  const reconnectDelayMs = config.reconnectDelayMs ?? 100;
  const intervalMs = 1000 / config.messageRate;
  let stopping = false;
  /** The first handshake failure, in ws's words ("Unexpected server response: 404", "connect ECONNREFUSED …"). */
  let firstFailure: string | undefined;
  let giveUp: () => void = () => undefined;
  /** Every socket open or opening, and the backend its hello named (undefined before the hello). */
  const sockets = new Map<WebSocket, string | undefined>();
  const timers = new Set<NodeJS.Timeout>();
  const started = performance.now();

  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const client = (id: number, attempt: number): void => {
    if (stopping) return;
    const ws = new WebSocket(config.url, { handshakeTimeout: 10_000 });
    sockets.set(ws, undefined);
    const pending = new Map<string, number>();
    let backend: string | undefined;
    let opened = false;
    let expiring = false;
    let seq = 0;
    let sender: NodeJS.Timeout | undefined;
    ws.on('open', () => {
      opened = true;
      r.connects++;
      if (attempt > 0) r.reconnects++;
      // Each client at its own phase, so the sends do not go out in lockstep.
      const start = setTimeout(() => {
        timers.delete(start);
        if (ws.readyState !== WebSocket.OPEN) return;
        sender = setInterval(() => {
          if (ws.readyState !== WebSocket.OPEN) return;
          const text = `c${id}:${++seq}`;
          pending.set(text, performance.now());
          r.sent++;
          ws.send(text);
        }, intervalMs);
      }, Math.random() * intervalMs);
      timers.add(start);
      if (config.lifetimeMs !== undefined) {
        later(config.lifetimeMs, () => {
          if (ws.readyState !== WebSocket.OPEN) return;
          expiring = true;
          clearInterval(sender);
          const waited = performance.now();
          const closeWhenAnswered = (): void => {
            if (ws.readyState !== WebSocket.OPEN) return;
            if (pending.size === 0 || performance.now() - waited >= 1000) ws.close(1000, 'lblab load: lifetime over');
            else later(10, closeWhenAnswered);
          };
          closeWhenAnswered();
        });
      }
    });
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : String(data);
      const sentAt = pending.get(text);
      if (sentAt !== undefined) {
        pending.delete(text);
        r.echoed++;
        hist.record((performance.now() - sentAt) * 1000);
        return;
      }
      if (backend === undefined && text.startsWith('{')) {
        try {
          const hello = JSON.parse(text) as { backend?: unknown; push?: unknown };
          if (typeof hello.backend === 'string' && hello.push === undefined) {
            backend = hello.backend;
            sockets.set(ws, backend);
            tally(backend).connects++;
            return;
          }
        } catch {
          // Not a hello: counted below.
        }
      }
      r.pushes++;
    });
    ws.on('error', (err) => {
      if (!opened) firstFailure ??= err.message;
    });
    ws.once('close', () => {
      sockets.delete(ws);
      clearInterval(sender);
      if (stopping) {
        r.pendingAtEnd += pending.size;
        return;
      }
      if (expiring) {
        r.expired++;
        r.unanswered += pending.size;
        return client(id, attempt + 1);
      }
      if (opened) {
        r.drops++;
        r.unanswered += pending.size;
        if (backend !== undefined) tally(backend).drops++;
      } else {
        r.failedConnects++;
        if (r.connects === 0 && r.failedConnects >= config.clients) return giveUp();
      }
      later(reconnectDelayMs, () => client(id, attempt + 1));
    });
  };

  for (let i = 0; i < config.clients; i++) client(i + 1, 0);
  const ticker = config.onSecond
    ? setInterval(() => {
        let open = 0;
        for (const ws of sockets.keys()) if (ws.readyState === WebSocket.OPEN) open++;
        config.onSecond!({ atMs: performance.now() - started, open, sent: r.sent, echoed: r.echoed, drops: r.drops, reconnects: r.reconnects });
      }, 1000)
    : undefined;
  await new Promise<void>((resolve) => {
    const end = setTimeout(resolve, config.durationMs);
    giveUp = () => {
      clearTimeout(end);
      resolve();
    };
    signal?.addEventListener('abort', () => {
      clearTimeout(end);
      resolve();
    }, { once: true });
  });
  stopping = true;
  clearInterval(ticker);
  for (const t of timers) clearTimeout(t);
  timers.clear();
  const durationMs = performance.now() - started;
  // Who each client is on at the end, read before the closes.
  for (const [ws, name] of sockets) if (ws.readyState === WebSocket.OPEN && name !== undefined) tally(name).openAtEnd++;
  const closes = [...sockets.keys()].map((ws) => new Promise<void>((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    ws.once('close', () => resolve());
    ws.close(1000, 'lblab load: run over');
  }));
  const forced = setTimeout(() => {
    for (const ws of sockets.keys()) ws.terminate();
  }, 2000);
  await Promise.all(closes);
  clearTimeout(forced);
  if (r.connects === 0 && r.failedConnects >= config.clients) {
    throw new RuntimeError(`no WebSocket handshake with ${config.url} succeeded (${r.failedConnects} tried): ${firstFailure ?? 'closed before the handshake'}`);
  }
  return { url: config.url, clients: config.clients, messageRate: config.messageRate, durationMs, ...r, echo: { ...hist.summary(), count: hist.count }, backends };
}
