import type { Command } from 'commander';
import { LATENCY_FORMS, parseLatency } from '../scenario/latency-profile.js';
import { parseDuration, parseFraction, parseInteger, parsePort } from '../scenario/values.js';

type BackendFlags = { port: string; host: string; name: string; latency: string; errorRate: string; capacity?: string; wsPush?: string };

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
    .addHelpText(
      'after',
      `
Examples:
  lblab backend --port 8001 --name b1
  lblab backend --port 8002 --name slow --latency 100ms-300ms --capacity 4
  lblab backend --port 8003 --name flaky --error-rate 0.1
  lblab backend --port 8004 --name tail --latency lognormal:40ms:30ms
  lblab backend --port 8005 --name ws --ws-push 1s

Latency forms: 20ms or fixed:20ms (always 20ms); 10ms-30ms or
uniform:10ms:30ms (evenly spread); normal:MEAN:SD (a bell curve, negative
draws redrawn); lognormal:MEAN:SD (MEAN and SD of the latency itself: most
requests fast, a long slow tail, like real services).

Every response carries x-lblab-backend: <name>; GET /health answers JSON
(name, inFlight, queued, capacity, load, served, uptimeMs, webSockets).

WebSockets: an upgrade on any path but /health is accepted; the backend
sends {"backend":"<name>"}, then echoes each message, and with --ws-push
sends {"backend":"<name>","push":<n>} every interval. Under the hang fault
upgrades wait unanswered and open WebSockets neither echo nor push.`,
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
