import { formatHashKey } from '../balancer/hash-key.js';
import type { AlgorithmName } from '../balancer/algorithms/index.js';
import { formatRateLimit } from '../balancer/rate-limit.js';
import type { RetryCondition } from '../balancer/retry-policy.js';
import type { RouteMatch } from '../balancer/routes.js';
import { poolCookieNames } from '../balancer/sticky/sticky-sessions.js';
import { FieldError } from '../scenario/field-error.js';
import { duration, enginePools, renderLines, serverAddress, type ConfigLine, type EngineConfigInput } from './engine-config.js';

type Line = ConfigLine & { indent?: number };

/** lblab's retry conditions as nginx `proxy_next_upstream` words. */
const NEXT_UPSTREAM: Record<RetryCondition, string[]> = {
  error: ['error', 'invalid_header'],
  timeout: ['timeout'],
  '500': ['http_500'],
  '502': ['http_502'],
  '503': ['http_503'],
  '504': ['http_504'],
  '429': ['http_429'],
};

/** The nginx variable of a request header (`x-user` → `$http_x_user`). */
function headerVariable(name: string): string {
  return `$http_${name.toLowerCase().replace(/-/g, '_')}`;
}

/**
 * `text` as an nginx regular expression matching it literally: every
 * character but letters, digits, `/`, `_` and `-` in a character class
 * (`[.]`), so neither the regex nor nginx's `$variables` read it.
 * @throws {FieldError} naming `--route` for characters an nginx string cannot hold plainly (`"`, `\`, `{`, `}`, `;`, spaces).
 */
function literal(text: string): string {
  if (/["\\{};\s]/.test(text)) throw new FieldError('--route', `to hold no quote, backslash, brace, semicolon or space with \`--engine nginx\`, got ${JSON.stringify(text)}`);
  return text.replace(/[^A-Za-z0-9/_-]/g, (c) => (c === ']' || c === '^' ? `\\${c}` : `[${c}]`));
}

/** The upstream's algorithm directive for `algo` (none for round robin, nginx's default). */
function algorithmLines(input: EngineConfigInput, algo: AlgorithmName, from: string): Line[] {
  const key = input.upstream.hashKey ?? { kind: 'ip' as const };
  const variable = key.kind === 'ip' ? '$remote_addr' : key.kind === 'path' ? '$uri' : key.kind === 'header' ? headerVariable(key.name) : `$cookie_${key.name}`;
  const keyFrom = input.upstream.hashKey ? ` --hash-key ${formatHashKey(input.upstream.hashKey)}` : '';
  switch (algo) {
    case 'round-robin':
    case 'weighted':
      return [{ text: '# smooth weighted round robin: nginx\'s default', from }];
    case 'least-conn':
    case 'weighted-least-conn':
      return [{ text: 'least_conn;', from }];
    case 'random':
      return [{ text: 'random;', from }];
    case 'p2c':
      return [{ text: 'random two least_conn;', from: `${from} (power of two choices)` }];
    case 'ip-hash':
      return [{ text: 'ip_hash;', from: `${from} (first three octets of IPv4, as lblab)` }];
    case 'consistent-hash':
      return [{ text: `hash ${variable} consistent;`, from: `${from}${keyFrom} (ketama, as lblab)` }];
    default:
      // checkEngineSupport refuses the others before a config is written.
      throw new Error(`nginx has no ${algo}`);
  }
}

/** The `if` tests of one route's conditions, as nginx writes them. */
function routeTests(m: RouteMatch): Array<{ test: string; from: string }> {
  const out: Array<{ test: string; from: string }> = [];
  if (m.pathPrefix !== undefined) out.push({ test: `$uri ~ "^${literal(m.pathPrefix)}"`, from: `--route ${m.pathPrefix}` });
  if (m.host !== undefined) {
    const test = m.host.startsWith('*.') ? `$host ~* "${literal(m.host.slice(1))}$"` : `$host = "${m.host.replace(/[^A-Za-z0-9.-]/g, '')}"`;
    out.push({ test, from: `--route host:${m.host}` });
  }
  if (m.header) {
    const v = headerVariable(m.header.name);
    out.push({
      test: m.header.value !== undefined ? `${v} ~ "^${literal(m.header.value)}$"` : `${v} != ""`,
      from: `--route header:${m.header.name}${m.header.value !== undefined ? `=${m.header.value}` : ''}`,
    });
  }
  return out;
}

/**
 * A complete nginx 1.22 (OSS) configuration for upstream scenario `input`,
 * that `nginx -p DIR -c FILE` runs as is in the foreground (one process:
 * `daemon off`, `master_process off`, temp files under DIR), every line
 * that comes from an lblab flag commented with it. Mapping (README
 * "Engines"): the algorithm as the upstream's directive (smooth WRR by
 * default, as lblab's), weights and `backup` as `server` parameters,
 * `--max-fails` as `max_fails`/`fail_timeout` (nginx OSS has no active
 * checks: the health flags have no line, said in a comment), `--retries`
 * and `--retry-on` as `proxy_next_upstream` + `proxy_next_upstream_tries`,
 * timeouts as `proxy_connect_timeout`, `proxy_read_timeout`,
 * `client_header_timeout`, `--rate-limit` as `limit_req … nodelay` with
 * status 429, routes as `set`/`if` rules choosing the upstream (first match
 * wins), `--tls` as `listen … ssl`, `--mode tcp` as a `stream {}` server.
 * `streamModule` is the path of `ngx_stream_module.so` to load when nginx
 * was built with a dynamic stream module (Debian's), else undefined.
 * Call `checkEngineSupport` first: what nginx OSS lacks throws.
 */
export function nginxConfig(input: EngineConfigInput, streamModule?: string): string {
  const u = input.upstream;
  const tcp = u.mode === 'tcp';
  const pools = enginePools(input.upstream, input.backends.map((b) => b.name));
  const names = poolCookieNames('lblab', pools);
  const lines: Line[] = [
    { text: `# nginx configuration generated by lblab from: ${input.source}` },
    { text: '# Run: nginx -p DIR -c FILE   (check it: nginx -t -p DIR -c FILE). Each comment names the lblab flag of its line.' },
    ...(tcp && streamModule ? [{ text: `load_module ${streamModule};`, from: '--mode tcp: the stream module' }] : []),
    { text: 'daemon off;', from: 'in the foreground, as a child of lblab' },
    { text: 'master_process off;', from: 'one process that lblab ends by PID (drop it in production)' },
    { text: 'worker_processes 1;' },
    { text: 'pid nginx.pid;' },
    { text: 'error_log stderr warn;' },
    { text: 'events { worker_connections 1024; }' },
    { text: '' },
    { text: tcp ? 'stream {' : 'http {', from: `--mode ${u.mode}` },
  ];
  if (!tcp) {
    if (input.accessLog) {
      lines.push(
        { text: "log_format lblab 'lblab $upstream_addr $status $request_time';", from: 'lblab balance counts what nginx served from its log', indent: 1 },
        // A file: nginx opens its log by path, and a pipe to Node is a socket that /dev/stdout cannot open.
        { text: `access_log ${input.files.accessLog ?? 'access.log'} lblab;`, indent: 1 },
      );
    } else lines.push({ text: 'access_log off;', indent: 1 });
    for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) lines.push({ text: `${t}_temp_path ${t}_temp;`, indent: 1 });
  }
  const outlier = u.passive.outlier;
  const passive =
    outlier.mode === 'nginx'
      ? { text: ` max_fails=${outlier.maxFails} fail_timeout=${duration(outlier.failTimeoutMs)}`, from: `--max-fails ${outlier.maxFails}, --fail-timeout ${duration(outlier.failTimeoutMs)}` }
      : { text: '', from: "nginx's passive defaults max_fails=1 fail_timeout=10s" };
  pools.forEach((pool, p) => {
    lines.push({ text: `upstream ${names[p]} {`, ...(u.routing ? { from: `pool ${pool.name}` } : {}), indent: 1 });
    lines.push(...algorithmLines(input, pool.algo, pool.own ? `--route …:${pool.algo}` : `--algo ${pool.algo}`).map((l) => ({ ...l, indent: 2 })));
    lines.push({ text: '# --health-*: nginx OSS has no active checks; a backend is skipped after failed tries (max_fails, fail_timeout)', indent: 2 });
    for (const name of pool.backends) {
      const i = input.backends.findIndex((b) => b.name === name);
      const weight = u.weights[i] ?? 1;
      const backup = u.backups.includes(name);
      lines.push({
        text: `server ${serverAddress(input, name)} weight=${weight}${passive.text}${backup ? ' backup' : ''};`,
        from: `${name}: --weights (${weight}), ${passive.from}${backup ? `, --backup ${name}` : ''}`,
        indent: 2,
      });
    }
    if (!tcp) lines.push({ text: 'keepalive 32;', from: 'kept-alive connections to the backends, as lblab keeps', indent: 2 });
    lines.push({ text: '}', indent: 1 });
  });
  const tries = u.retry.retries + 1;
  if (tcp) {
    lines.push(
      { text: 'server {', indent: 1 },
      { text: `listen ${u.host}:${u.port};`, from: `--port ${u.port}`, indent: 2 },
      { text: `proxy_pass ${names[0]};`, indent: 2 },
      { text: `proxy_connect_timeout ${duration(u.connection.connectTimeoutMs)};`, from: `--connect-timeout ${duration(u.connection.connectTimeoutMs)}`, indent: 2 },
      { text: `proxy_timeout ${duration(u.connection.responseTimeoutMs)};`, from: `--response-timeout ${duration(u.connection.responseTimeoutMs)} (idle time of a relayed connection)`, indent: 2 },
      { text: `proxy_next_upstream ${u.retry.retries > 0 ? 'on' : 'off'};`, from: `--retries ${u.retry.retries} (on a failed connect)`, indent: 2 },
      ...(u.retry.retries > 0 ? [{ text: `proxy_next_upstream_tries ${tries};`, from: `--retries ${u.retry.retries} + the first try`, indent: 2 }] : []),
      { text: '}', indent: 1 },
      { text: '}' },
    );
    return renderLines(lines);
  }
  // Who answered, by name, as lblab's balancer says it: the last address tried (a retried request lists several).
  lines.push({ text: 'map $upstream_addr $lblab_backend {', from: "x-lblab-backend: who answered, as lblab's balancer says it", indent: 1 });
  lines.push({ text: 'default $upstream_addr;', indent: 2 });
  for (const b of input.backends) lines.push({ text: `~(^|[,:]\\s)${b.host.replace(/\./g, '\\.')}:${b.port}$ ${b.name};`, indent: 2 });
  lines.push({ text: '}', indent: 1 });
  // nginx's WebSocket proxying recipe, with an empty Connection otherwise so keep-alive to the backends stays.
  lines.push(
    { text: 'map $http_upgrade $lblab_connection {', from: 'WebSockets: Connection: upgrade for an upgrade request, else empty (keep-alive)', indent: 1 },
    { text: 'default upgrade;', indent: 2 },
    { text: "'' '';", indent: 2 },
    { text: '}', indent: 1 },
  );
  if (u.rateLimit) {
    const r = u.rateLimit.ratePerSecond;
    const rate = Number.isInteger(r) && r >= 1 ? `${r}r/s` : `${Math.max(1, Math.round(r * 60))}r/m`;
    lines.push({ text: `limit_req_zone $binary_remote_addr zone=lblab_rate:10m rate=${rate};`, from: `--rate-limit ${formatRateLimit(u.rateLimit)}, per client address`, indent: 1 });
  }
  lines.push(
    { text: 'server {', indent: 1 },
    {
      text: `listen ${u.host}:${u.port}${u.tls ? ' ssl' : ''}${u.http2 ? ' http2' : ''};`,
      from: `${u.http2 ? (u.tls ? '--http2 (h2 and HTTP/1.1 by ALPN), ' : '--http2 (nginx: h2c only on a plain-text port, no HTTP/1.1), ') : ''}--port ${u.port}${u.tls ? ', --tls' : ''}`,
      indent: 2,
    },
  );
  if (u.tls) {
    lines.push(
      { text: `ssl_certificate ${input.files.certificate};`, from: '--tls', indent: 2 },
      { text: `ssl_certificate_key ${input.files.certificateKey};`, from: '--tls', indent: 2 },
    );
  }
  lines.push({ text: `client_header_timeout ${duration(u.clientTimeoutMs)};`, from: `--client-timeout ${duration(u.clientTimeoutMs)}`, indent: 2 });
  if (u.rateLimit) {
    lines.push(
      { text: `limit_req zone=lblab_rate burst=${u.rateLimit.burst} nodelay;`, from: `--rate-limit burst ${u.rateLimit.burst}`, indent: 2 },
      { text: 'limit_req_status 429;', from: '--rate-limit: over it, 429', indent: 2 },
    );
  }
  let target = `http://${names[0]}`;
  if (u.routing) {
    const routing = u.routing;
    const nameOf = (pool: string): string => names[pools.findIndex((p) => p.name === pool)]!;
    lines.push({ text: `set $lblab_pool "${routing.defaultPool !== undefined ? nameOf(routing.defaultPool) : ''}";`, from: routing.defaultPool !== undefined ? '--route default' : 'no default pool', indent: 2 });
    // Last route first: the first route that matches sets the pool last, and wins (as lblab's first match).
    [...routing.routes].reverse().forEach((route, k) => {
      const n = routing.routes.length - k;
      const tests = routeTests(route.match);
      const pool = nameOf(route.pool);
      if (tests.length === 1) {
        lines.push({ text: `if (${tests[0]!.test}) { set $lblab_pool ${pool}; }`, from: tests[0]!.from, indent: 2 });
        return;
      }
      // nginx's `if` has no "and": each test adds a mark, and all the marks select the pool.
      lines.push({ text: `set $lblab_route${n} "";`, from: `--route ${n}: every condition must hold`, indent: 2 });
      tests.forEach((t, j) => lines.push({ text: `if (${t.test}) { set $lblab_route${n} "\${lblab_route${n}}${j + 1}"; }`, from: t.from, indent: 2 }));
      lines.push({ text: `if ($lblab_route${n} = "${tests.map((_, j) => j + 1).join('')}") { set $lblab_pool ${pool}; }`, indent: 2 });
    });
    if (routing.defaultPool === undefined) lines.push({ text: 'if ($lblab_pool = "") { return 404; }', from: 'no default pool: no route, 404', indent: 2 });
    target = 'http://$lblab_pool';
  }
  const nextUpstream = u.retry.retries > 0 ? [...new Set([...u.retry.on].flatMap((c) => NEXT_UPSTREAM[c]))] : [];
  if (u.retry.retries > 0 && u.retry.nonIdempotent) nextUpstream.push('non_idempotent');
  lines.push(
    { text: 'location / {', indent: 2 },
    { text: `proxy_pass ${target};`, ...(u.routing ? { from: '--route: the pool chosen above' } : {}), indent: 3 },
    { text: 'proxy_hide_header x-lblab-backend;', indent: 3 },
    { text: 'add_header x-lblab-backend $lblab_backend always;', from: "who answered, as lblab's balancer says it", indent: 3 },
    { text: 'proxy_http_version 1.1;', from: 'keep-alive to the backends', indent: 3 },
    { text: 'proxy_set_header Upgrade $http_upgrade;', from: 'WebSockets: the upgrade passes on, as lblab passes it', indent: 3 },
    { text: 'proxy_set_header Connection $lblab_connection;', from: 'keep-alive to the backends; upgrade for a WebSocket', indent: 3 },
    { text: 'proxy_set_header Host $http_host;', from: "the client's Host, as lblab forwards it", indent: 3 },
    { text: 'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;', from: 'lblab adds X-Forwarded-For too', indent: 3 },
    ...(u.tls ? [{ text: 'proxy_set_header X-Forwarded-Proto $scheme;', from: '--tls', indent: 3 }] : []),
    { text: `proxy_connect_timeout ${duration(u.connection.connectTimeoutMs)};`, from: `--connect-timeout ${duration(u.connection.connectTimeoutMs)}`, indent: 3 },
    { text: `proxy_read_timeout ${duration(u.connection.responseTimeoutMs)};`, from: `--response-timeout ${duration(u.connection.responseTimeoutMs)}`, indent: 3 },
    {
      text: `proxy_next_upstream ${nextUpstream.length > 0 ? nextUpstream.join(' ') : 'off'};`,
      from: u.retry.retries > 0 ? `--retry-on ${[...u.retry.on].join(',')}${u.retry.nonIdempotent ? ', --retry-non-idempotent' : ''}` : '--retries 0',
      indent: 3,
    },
    ...(u.retry.retries > 0 ? [{ text: `proxy_next_upstream_tries ${tries};`, from: `--retries ${u.retry.retries} + the first try`, indent: 3 }] : []),
    { text: '}', indent: 2 },
    { text: '}', indent: 1 },
    { text: '}' },
  );
  return renderLines(lines);
}
