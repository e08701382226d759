import type { Command } from 'commander';
import { parsePort } from '../scenario/values.js';

type ProxyFlags = { port: string; allow: string[]; quiet?: boolean };

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Squid's port, the usual one of a forward proxy. */
const DEFAULT_PROXY_PORT = '3128';

/**
 * `lblab proxy`: a forward proxy on 127.0.0.1 (absolute-form requests and
 * CONNECT tunnels) to loopback and an `--allow` list, one log line per
 * request on stdout, until Ctrl-C or SIGTERM.
 */
export function registerProxyCommand(program: Command): void {
  program
    .command('proxy')
    .description('run a forward proxy on 127.0.0.1 (absolute-form and CONNECT) to loopback and an --allow list only')
    .option('--port <port>', 'port to listen on, 127.0.0.1 only (0 = any free port)', DEFAULT_PROXY_PORT)
    .option('--allow <host[:port]>', 'also let requests reach this host (any port, or only :port); repeatable; names are never looked up unless allowed', collect, [])
    .option('--quiet', 'no log line per request')
    .addHelpText(
      'after',
      `
Examples:
  lblab proxy --port 3128
  curl -x http://127.0.0.1:3128 http://127.0.0.1:8001/
  curl -x http://127.0.0.1:3128 -k https://127.0.0.1:8443/   (a CONNECT tunnel)
  lblab proxy --port 3128 --allow 127.0.0.1 --allow example.test:8080 --quiet

A forward proxy acts for its clients: the client names the server it wants
(GET http://host:port/path, RFC 9112 §3.2.2, or CONNECT host:port, RFC 9110
§9.3.6) and the server sees the proxy's address, not the client's. A
reverse proxy (lblab balance) acts for its servers: the client names the
proxy, the proxy picks a server and tells it who the client was
(X-Forwarded-For).

Destinations: loopback (127.0.0.0/8, ::1, localhost, which is never looked
up) and the --allow entries; anything else is refused with 403, the rule
named in the body and in the x-lblab-proxy-refused header, before any DNS
lookup or connection. Requests in origin form (GET /path) get 400.
Hop-by-hop and Proxy-* headers are dropped, Via: 1.1 lblab is added.
Log lines: CLIENT → DESTINATION METHOD STATUS [why].`,
    )
    .action(async (o: ProxyFlags) => {
      const port = parsePort('--port', o.port);
      const { parseAllow } = await import('../proxy/destination.js');
      const allow = o.allow.map((a) => parseAllow('--allow', a));
      const { startForwardProxy } = await import('../proxy/forward-proxy.js');
      const { untilSignal } = await import('./output.js');
      const { registerCleanup } = await import('../cleanup.js');
      const proxy = await startForwardProxy({
        port,
        allow,
        ...(o.quiet
          ? {}
          : {
              onRequest: (e) => process.stdout.write(`${e.client} → ${e.destination || '(origin-form)'} ${e.method} ${e.status}${e.reason ? ` (${e.reason})` : ''}\n`),
            }),
      });
      const unregister = registerCleanup('forward proxy', () => proxy.close());
      const stop = untilSignal();
      const allowed = allow.length > 0 ? `, and ${o.allow.join(', ')}` : '';
      process.stderr.write(`lblab proxy listening on ${proxy.url}/ (forward proxy to loopback${allowed}; Ctrl-C to stop)\n`);
      await stop;
      unregister();
      await proxy.close();
    });
}
