import type { Command } from 'commander';
import { LATENCY_FORMS, parseLatency } from '../scenario/latency-profile.js';
import { parseDuration, parseFraction, parseInteger, parsePort } from '../scenario/values.js';
import { newSessionKey, SESSION_COOKIE, SESSION_HEADER, SESSION_KEY_ENV, SESSION_STORE_ENV, type SessionConfig } from '../backend/sessions.js';
import { parseSessionMode, parseSessionStoreUrl } from '../scenario/sessions.js';
import { FieldError } from '../scenario/field-error.js';

type BackendFlags = { port: string; host: string; name: string; latency: string; errorRate: string; capacity?: string; wsPush?: string; sessions?: string; sessionStore?: string };

/**
 * `lblab backend`: one standalone backend server. Forked by lblab, it takes
 * faults over the IPC channel, ignores the terminal's SIGINT (its parent
 * decides when it ends) and exits as soon as the channel closes, even when
 * the parent was SIGKILLed.
 */
export function registerBackendCommand(program: Command): void {
  program
    .command('backend')
    .description('run one standalone backend server on 127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', '0')
    .option('--host <address>', 'loopback address to bind', '127.0.0.1')
    .option('--name <name>', 'name sent in x-lblab-backend and /health', 'b1')
    .option('--latency <latency>', `service time: ${LATENCY_FORMS}`, '5ms')
    .option('--error-rate <fraction>', 'share of requests answered 500, 0..1', '0')
    .option('--capacity <n>', 'max requests served at once; the rest queue (default: no limit)')
    .option('--ws-push <duration>', 'on each open WebSocket, push a message every <duration> (e.g. 1s; default: never)')
    .option('--sessions <mode>', 'keep user sessions: memory (this process), shared (a redis store, see --session-store) or token (signed JWTs); default none')
    .option('--session-store <url>', `with --sessions shared: the store, redis://[:password@]127.0.0.1:PORT (default: $${SESSION_STORE_ENV})`)
    .addHelpText(
      'after',
      `
Examples:
  lblab backend --port 8001 --name b1
  lblab backend --port 8002 --name slow --latency 100ms-300ms --capacity 4
  lblab backend --port 8003 --name flaky --error-rate 0.1
  lblab backend --port 8004 --name tail --latency lognormal:40ms:30ms
  lblab backend --port 8005 --name ws --ws-push 1s
  lblab backend --port 8006 --name s1 --sessions memory
  lblab backend --port 8007 --name s2 --sessions shared --session-store redis://127.0.0.1:6379

Latency forms: 20ms or fixed:20ms (always 20ms); 10ms-30ms or
uniform:10ms:30ms (evenly spread); normal:MEAN:SD (a bell curve, negative
draws redrawn); lognormal:MEAN:SD (MEAN and SD of the latency itself: most
requests fast, a long slow tail, like real services).

Every response carries x-lblab-backend: <name>; GET /health answers JSON
(name, inFlight, queued, capacity, load, served, uptimeMs, webSockets).

WebSockets: an upgrade on any path but /health is accepted; the backend
sends {"backend":"<name>"}, then echoes each message, and with --ws-push
sends {"backend":"<name>","push":<n>} every interval. Under the hang fault
upgrades wait unanswered and open WebSockets neither echo nor push.

Sessions (--sessions): a request without the ${SESSION_COOKIE} cookie logs in
(Set-Cookie: ${SESSION_COOKIE}=…), a later one reads its session and counts a
visit; every response says ${SESSION_HEADER}: new, found or lost (lost: a
session this backend cannot find or verify; the user logs in anew).
memory keeps them in this process; shared in the redis store of
--session-store; token in a signed JWT (HS256) the client carries, with
the key in $${SESSION_KEY_ENV} (base64url, 32 bytes; default: drawn at
start, so only this backend verifies its tokens).`,
    )
    .action(async (o: BackendFlags) => {
      if (process.send) {
        // Forked by lblab: the parent decides when this ends. Listen for the
        // channel closing before anything else, so a parent that dies while
        // we start up still takes us with it.
        process.on('disconnect', () => process.exit(0));
        process.on('SIGINT', () => undefined);
      }
      const { validateLoopback } = await import('../scenario/loopback.js');
      const config = {
        name: o.name,
        host: validateLoopback('--host', o.host),
        port: parsePort('--port', o.port),
        latency: parseLatency('--latency', o.latency),
        errorRate: parseFraction('--error-rate', o.errorRate),
        capacity: o.capacity === undefined ? Infinity : parseInteger('--capacity', o.capacity, 1, 100_000),
        wsPushMs: o.wsPush === undefined ? 0 : parseDuration('--ws-push', o.wsPush, { maxMs: 3_600_000 }),
        ...(o.sessions !== undefined ? { sessions: sessionConfig(o.sessions, o.sessionStore) } : {}),
      };
      const { startBackendServer } = await import('../backend/server.js');
      const { isParentMessage } = await import('../backend/ipc.js');
      const backend = await startBackendServer(config);
      if (process.send) {
        if (!process.connected) process.exit(0);
        process.on('message', (m) => {
          if (!isParentMessage(m)) return;
          if (m.type === 'fault') backend.setFaults(m.faults);
          else if (m.type === 'view') process.send?.({ type: 'view', view: backend.view() }, () => undefined);
          else backend.recover();
        });
        process.send({ type: 'listening', name: config.name, port: backend.port, pid: process.pid }, (err: Error | null) => {
          if (err) process.exit(0);
        });
        return;
      }
      const { untilSignal } = await import('./output.js');
      const stop = untilSignal();
      process.stderr.write(`lblab backend ${config.name} listening on http://${config.host}:${backend.port}/ (pid ${process.pid})\n`);
      await stop;
      await backend.close();
    });
}

/**
 * The sessions of `--sessions <mode>`: `shared` takes its store from
 * `--session-store` or `$LBLAB_SESSION_STORE` (lblab's fleet hands it over
 * so, out of argv), `token` its key from `$LBLAB_SESSION_KEY` or a new one.
 * @throws {FieldError} for an unknown mode, a shared store not given or not a loopback redis:// URL, a key that is not 32 bytes of base64url.
 */
function sessionConfig(mode: string, store: string | undefined): SessionConfig {
  const m = parseSessionMode('--sessions', mode);
  if (m === 'memory') return { mode: m };
  if (m === 'shared') {
    const url = store ?? process.env[SESSION_STORE_ENV];
    if (url === undefined || url === '') throw new FieldError('--session-store', `with \`--sessions shared\`: the store every backend shares, e.g. redis://127.0.0.1:6379 (or $${SESSION_STORE_ENV}), got nothing`);
    return { mode: m, storeUrl: parseSessionStoreUrl(store !== undefined ? '--session-store' : `$${SESSION_STORE_ENV}`, url) };
  }
  const key = Buffer.from(process.env[SESSION_KEY_ENV] || newSessionKey(), 'base64url');
  if (key.length !== 32) throw new FieldError(`$${SESSION_KEY_ENV}`, `to be 32 bytes in base64url (43 characters), got ${key.length} bytes`);
  return { mode: m, key };
}
