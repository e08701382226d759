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
 * One backend's WebSockets as the clients see them while the run goes on:
 * `open` now, `connects` and `drops` so far, connects in each second of the
 * run (`connectsPerSecond[i]` is second [i, i+1) from the load's start), and
 * the echo round trip of the messages it answered (µs histogram).
 */
export type WebSocketBackendLive = { open: number; connects: number; drops: number; connectsPerSecond: number[]; echo: LatencyHistogram };

/**
 * The live state of a running WebSocket load: the run's counts so far (as
 * in {@link WebSocketLoadResult}), WebSockets open now, per backend its
 * {@link WebSocketBackendLive}, and `movedAfterDrop[from][to]`: clients
 * dropped by backend `from` whose next connection went to `to`.
 */
export type WebSocketLive = {
  open: number;
  counts: WebSocketCounts;
  echo: LatencyHistogram;
  backends: ReadonlyMap<string, WebSocketBackendLive>;
  movedAfterDrop: Readonly<Record<string, Readonly<Record<string, number>>>>;
};

/** The counts of a run (see {@link WebSocketLoadResult}): everything but its settings, its echo histogram and its backends. */
export type WebSocketCounts = Omit<WebSocketLoadResult, 'url' | 'clients' | 'messageRate' | 'durationMs' | 'echo' | 'backends'>;

/** A WebSocket load under way (see {@link startWebSocketLoad}). */
export type RunningWebSocketLoad = {
  /** The state now; the objects are live (read them, do not keep them). */
  live(): WebSocketLive;
  /** Resolves when every client's first handshake failed and none ever succeeded: the run should end. */
  readonly gaveUp: Promise<void>;
  /**
   * Stops: no more connects, every socket closed (at most about 2 s), then the result.
   * @throws {RuntimeError} as {@link runWebSocketLoad}.
   */
  stop(): Promise<WebSocketLoadResult>;
};

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
  /** Of `unanswered`, those on a connection the other side dropped (in flight at a kill, say); the rest were still unanswered 1 s into a lifetime's close. */
  unansweredAtDrop: number;
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
  const run = startWebSocketLoad(config);
  await new Promise<void>((resolve) => {
    const end = setTimeout(resolve, config.durationMs);
    void run.gaveUp.then(() => {
      clearTimeout(end);
      resolve();
    });
    signal?.addEventListener('abort', () => {
      clearTimeout(end);
      resolve();
    }, { once: true });
  });
  return run.stop();
}

/**
 * Starts the clients of {@link runWebSocketLoad} (`config.durationMs` is
 * not read: the caller stops the run) and returns at once.
 */
export function startWebSocketLoad(config: Omit<WebSocketLoadConfig, 'durationMs'>): RunningWebSocketLoad {
  const hist = new LatencyHistogram();
  const backends: Record<string, WebSocketBackendTally> = {};
  const tally = (name: string): WebSocketBackendTally => (backends[name] ??= { connects: 0, drops: 0, openAtEnd: 0 });
  const liveBackends = new Map<string, WebSocketBackendLive>();
  const liveOf = (name: string): WebSocketBackendLive => {
    let b = liveBackends.get(name);
    if (!b) liveBackends.set(name, (b = { open: 0, connects: 0, drops: 0, connectsPerSecond: [], echo: new LatencyHistogram() }));
    return b;
  };
  const movedAfterDrop: Record<string, Record<string, number>> = {};
  const r = { connects: 0, reconnects: 0, expired: 0, drops: 0, failedConnects: 0, sent: 0, echoed: 0, unanswered: 0, unansweredAtDrop: 0, pendingAtEnd: 0, pushes: 0 };
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

  /** `droppedBy`: the backend whose drop this connection replaces, if it was one. */
  const client = (id: number, attempt: number, droppedBy?: string): void => {
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
        const us = (performance.now() - sentAt) * 1000;
        hist.record(us);
        if (backend !== undefined) liveOf(backend).echo.record(us);
        return;
      }
      if (backend === undefined && text.startsWith('{')) {
        try {
          const hello = JSON.parse(text) as { backend?: unknown; push?: unknown };
          if (typeof hello.backend === 'string' && hello.push === undefined) {
            backend = hello.backend;
            sockets.set(ws, backend);
            tally(backend).connects++;
            const b = liveOf(backend);
            b.open++;
            b.connects++;
            const second = Math.floor((performance.now() - started) / 1000);
            while (b.connectsPerSecond.length <= second) b.connectsPerSecond.push(0);
            b.connectsPerSecond[second]!++;
            if (droppedBy !== undefined) (movedAfterDrop[droppedBy] ??= {})[backend] = (movedAfterDrop[droppedBy]?.[backend] ?? 0) + 1;
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
      if (backend !== undefined && !stopping) liveOf(backend).open--;
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
        r.unansweredAtDrop += pending.size;
        if (backend !== undefined) {
          tally(backend).drops++;
          liveOf(backend).drops++;
        }
      } else {
        r.failedConnects++;
        if (r.connects === 0 && r.failedConnects >= config.clients) return giveUp();
      }
      // A failed handshake after a drop still replaces that drop.
      const replaces = opened ? backend : droppedBy;
      later(reconnectDelayMs, () => client(id, attempt + 1, replaces));
    });
  };

  for (let i = 0; i < config.clients; i++) client(i + 1, 0);
  const ticker = config.onSecond
    ? setInterval(() => config.onSecond!({ atMs: performance.now() - started, open: countOpen(), sent: r.sent, echoed: r.echoed, drops: r.drops, reconnects: r.reconnects }), 1000)
    : undefined;
  const gaveUp = new Promise<void>((resolve) => (giveUp = resolve));
  const countOpen = (): number => {
    let open = 0;
    for (const ws of sockets.keys()) if (ws.readyState === WebSocket.OPEN) open++;
    return open;
  };
  const live = (): WebSocketLive => ({ open: countOpen(), counts: { ...r }, echo: hist, backends: liveBackends, movedAfterDrop });
  let stopped: Promise<WebSocketLoadResult> | undefined;
  const stop = (): Promise<WebSocketLoadResult> => (stopped ??= finish());
  const finish = async (): Promise<WebSocketLoadResult> => {
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
  };
  return { live, gaveUp, stop };
}
