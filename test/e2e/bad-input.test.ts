import net from 'node:net';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliToEnd, waitForNoProcesses } from '../support/cli.js';
import { listenLoopback } from '../support/loopback.js';

let busy: net.Server;
let busyPort = 0;
const dir = mkdtempSync(join(tmpdir(), 'lblab-bad-'));

beforeAll(async () => {
  busy = net.createServer();
  busyPort = await listenLoopback(busy);
  writeFileSync(join(dir, 'not-json.json'), '{ nope');
  writeFileSync(join(dir, 'other.json'), '{"hello": 1}');
  writeFileSync(join(dir, 'comparison.json'), '{"schemaVersion": 1, "scenario": {}, "results": []}');
  writeFileSync(join(dir, 'routes-backend.yaml'), 'pools:\n  api: { backends: [b1, b9] }\nroutes:\n  - { path: /api, pool: api }\n');
  writeFileSync(join(dir, 'routes-pool.yaml'), 'pools:\n  api: { backends: [b1] }\nroutes:\n  - { path: /api, pool: api }\n  - { host: static.local, pool: statics }\n');
  writeFileSync(join(dir, 'routes-algo.json'), JSON.stringify({ pools: { api: { backends: ['b1'], algo: 'fastest' } }, routes: [{ path: '/api', pool: 'api' }] }));
  writeFileSync(join(dir, 'routes-empty-route.yaml'), 'pools:\n  api: { backends: [b1] }\nroutes:\n  - { pool: api }\n');
  writeFileSync(join(dir, 'routes-broken.yaml'), 'pools: [unclosed\n');
  writeFileSync(
    join(dir, 'half.json'),
    JSON.stringify({ schemaVersion: 1, config: { command: 'start' }, durationMs: 1, totals: { requests: 1, errors: 0, rps: 1 }, backends: [], events: [], timeline: [] }),
  );
});
afterAll(() => new Promise<void>((r) => busy.close(() => r())));

/** [arguments, what the one-line message must mention] */
const cases: Array<[string[], RegExp]> = [
  [['start', '--backends', '0'], /`--backends`.*from 1 to 16, got "0"/],
  [['start', '--backends', 'abc'], /`--backends`.*got "abc"/],
  [['start', '--backends', '99'], /`--backends`.*got "99"/],
  [['start', '--balancers', '3'], /`--balancers`.*from 1 to 2, got "3"/],
  [['start', '--balancers', '2', '--event', '1s kill lb3'], /`--event` backend or balancer to be one of b1, b2, b3, lb1, lb2, got "lb3"/],
  [['start', '--algo', 'fastest'], /`--algo` to be one of round-robin, weighted, least-conn, weighted-least-conn, random, p2c, ip-hash, consistent-hash, maglev, least-response-time, peak-ewma, resource, got "fastest"/],
  [['start', '--backends', '3', '--algo', 'weighted', '--weights', '1,2'], /`--weights` to have 3 values \(one per backend\), got 2/],
  [['start', '--backends', '3', '--algo', 'weighted', '--weights', '1,-1,1'], /`--weights` value to be a whole number/],
  [['start', '--duration', '-5s'], /`--duration`.*got "-5s"/],
  [['start', '--duration', 'soon'], /`--duration`.*got "soon"/],
  [['start', '--health-interval', '0s'], /`--health-interval`/],
  [['start', '--rise', '0'], /`--rise`/],
  [['start', '--health-check', 'udp'], /`--health-check` to be one of http, tcp, got "udp"/],
  [['balance', '--backend', 'http://127.0.0.1:1', '--health-fastinter', '0s'], /`--health-fastinter` to be a positive duration.*got "0s"/],
  [['compare', '--health-downinter', 'soon'], /`--health-downinter` to be a positive duration.*got "soon"/],
  [['start', '--concurrency', '0'], /`--concurrency`.*got "0"/],
  [['start', '--port', '70000'], /`--port`.*got "70000"/],
  [['start', '--event', '5s explode b2'], /`--event` action to be one of kill, restart, remove, drain, slow, errors, health-fail, hang, reset, degrade, recover, weight, algo, got "explode"/],
  [['start', '--event', '1s hang b9'], /`--event` backend to be one of b1, b2, b3, got "b9"/],
  [['start', '--event', '1s degrade'], /`--event` to read .*recover <backend>.*got "1s degrade"/],
  [['start', '--duration', '5s', '--event', '6s recover b1'], /every `--event` to fall within `--duration` \(5s\)/],
  [['start', '--event', '5s kill b9'], /`--event` backend to be one of b1, b2, b3, got "b9"/],
  [['start', '--latency', 'b7=20ms'], /`--latency` backend to be one of/],
  [['start', '--latency', 'b2=gauss:5ms:1ms'], /`--latency` kind to be one of fixed, uniform, normal, lognormal, got "gauss"/],
  [['start', '--latency', 'normal:50ms'], /`--latency` to read normal:MEAN:SD/],
  [['backend', '--latency', 'lognormal:0ms:5ms'], /`--latency` log-normal mean to be above 0/],
  [['start', '--frobnicate'], /unknown option '--frobnicate'/],
  [['start', '--sticky', 'bogus'], /`--sticky` to be cookie, cookie:NAME .*got "bogus"/],
  [['start', '--sticky', 'cookie:'], /`--sticky` to be cookie, cookie:NAME .*got "cookie:"/],
  [['balance', '--backend', 'http://127.0.0.1:1', '--sticky', 'ip:soon'], /`--sticky ip:TTL` to end in a positive duration.*got "ip:soon"/],
  [['start', '--rate-limit', '0/s'], /`--rate-limit` to be a rate above 0 .*got "0\/s"/],
  [['compare', '--rate-limit', 'abc'], /`--rate-limit` to be a rate above 0 .*got "abc"/],
  [['balance'], /at least one `--backend`/],
  [['balance', '--backend', 'not a url'], /`--backend` to be a URL/],
  [['balance', '--backend', 'http://10.1.2.3:80'], /`--backend` to point at loopback/],
  [['balance', '--backend', 'ftp://127.0.0.1:21'], /`--backend` to be an http:\/\/ URL/],
  [['balance', '--backend', 'http://127.0.0.1:1', '--algo', 'weighted', '--weights', '1,1'], /`--weights` to have 1 value/],
  [['load', 'http://192.168.1.1/'], /`<url>` to point at loopback/],
  [['load', 'http://127.0.0.1:1/', '--concurrency', '0'], /`--concurrency`/],
  [['load', 'http://127.0.0.1:1/', '--duration', '10'], /`--duration`.*got "10"/],
  [['load', 'http://127.0.0.1:1/', '--clients', '0'], /`--clients` to be a whole number from 1 to 10000, got "0"/],
  [['load', 'http://127.0.0.1:1/', '--clients', '10001'], /`--clients`.*got "10001"/],
  [['load', 'http://127.0.0.1:1/', '--spread-clients'], /`--spread-clients` only with `--clients N`/],
  [['load', 'http://localhost:1/', '--clients', '2'], /`<url>` to name an address in 127\.0\.0\.0\/8 with `--clients`/],
  [['load', 'http://127.0.0.1:1/', '--header', 'bad name=x'], /`--header` name to be a header name .*got "bad name"/],
  [['load', 'http://127.0.0.1:1/', '--header', 'x-user'], /`--header` to read NAME=VALUE/],
  [['load', 'http://127.0.0.1:1/', '--header', 'x-a=b\r\nx-c: d'], /`--header` value to hold no line breaks/],
  [['load', 'http://127.0.0.1:1/', '--fail-on-errors', '1.5'], /`--fail-on-errors` to be a number from 0 to 1, got "1\.5"/],
  [['load', 'http://127.0.0.1:1/', '--fail-on-errors', '5%'], /`--fail-on-errors` to be a number from 0 to 1, got "5%"/],
  [['start', '--fail-on-errors', '-1'], /`--fail-on-errors` to be a number from 0 to 1, got "-1"/],
  [['load', 'http://127.0.0.1:1/', '--header', 'x-user=u{user}'], /`--header` placeholders to be \{client\} or \{seq\}/],
  [['start', '--event', '1s weight b1=0'], /`--event weight` to be a whole number from 1 to 1000, got "0"/],
  [['start', '--event', '1s algo fastest'], /`--event` algorithm to be one of round-robin, .*got "fastest"/],
  [['start', '--hash-key', 'host'], /`--hash-key` to be ip, path, header:NAME or cookie:NAME, got "host"/],
  [['start', '--hash-key', 'ip'], /`--hash-key` only with an algorithm that hashes a key \(consistent-hash, maglev\), got --algo round-robin/],
  [['balance', '--backend', 'http://127.0.0.1:1', '--hash-key', 'path'], /`--hash-key` only with an algorithm that hashes a key/],
  [['start', '--retry-on', 'error,418'], /every `--retry-on` entry to be one of error, timeout, 500, 502, 503, 504, 429, got "418"/],
  [['start', '--retries', '11'], /`--retries` to be a whole number from 0 to 10, got "11"/],
  [['balance', '--backend', 'http://127.0.0.1:1', '--response-timeout', '0s'], /`--response-timeout` to be a positive duration/],
  [['compare', '--connect-timeout', 'soon'], /`--connect-timeout` to be a positive duration.*got "soon"/],
  [['start', '--max-fails', '2', '--eject-consecutive', '3'], /one style of passive checks, `--max-fails` \(nginx\) or `--eject-consecutive` \(Envoy\), got both/],
  [['start', '--max-ejection-percent', '150'], /`--max-ejection-percent` to be a whole number from 0 to 100, got "150"/],
  [['start', '--breaker', '-1'], /`--breaker` to be a whole number from 0 to 1000, got "-1"/],
  [['start', '--backup', 'b7'], /`--backup` to be one of b1, b2, b3, got "b7"/],
  [['start', '--backends', '2', '--backup', 'b1', '--backup', 'b2'], /`--backup` to leave at least one primary backend/],
  [['start', '--algo', 'ip-hash', '--slow-start', '5s'], /`--slow-start` only with an algorithm that is not hashing onto whole weights, got ip-hash/],
  [['start', '--algo', 'round-robin', '--slow-start', '5s'], /`--slow-start` only with an algorithm that uses weights \(slow start ramps the weight\), got round-robin; weighted with equal weights/],
  [['start', '--panic-threshold', '101'], /`--panic-threshold` to be a whole number from 0 to 100, got "101"/],
  [['balance', '--backend', 'http://127.0.0.1:1', '--slow-start', 'later'], /`--slow-start` to be a non-negative duration.*got "later"/],
  [['compare', '--algos', 'round-robin,p2c', '--event', '2s algo p2c'], /`--event` without "algo" in compare/],
  [['compare', '--algos', 'round-robin,round-robin'], /every `--algos` entry once, got round-robin twice/],
  [['compare', '--algos', 'least-conn', '--weights', '1,1,1'], /`--weights` only when an algorithm in --algos uses weights/],
  [['compare', '--algos', 'ip-hash', '--clients', '4', '--remove', 'b9'], /`--remove` to be one of b1, b2, b3, got "b9"/],
  [['compare', '--algos', 'ip-hash', '--clients', '4', '--remove', 'b2', '--duration', '1s'], /`--duration` of at least 2s with `--remove`/],
  [['start', '--clients', '0'], /`--clients` to be a whole number from 1 to 10000, got "0"/],
  [['start', '--header', 'connection=close'], /`--header` name not to be one the HTTP client manages/],
  [['load'], /missing required argument 'url'/],
  [['load', 'http://127.0.0.1:1/', '--rate', 'fast'], /`--rate` to be requests per second, a number above 0 .*got "fast"/],
  [['load', 'http://127.0.0.1:1/', '--rate', '0'], /`--rate` to be requests per second.*got "0"/],
  [['start', '--rate', '-3'], /`--rate` to be requests per second.*got "-3"/],
  [['load', 'http://127.0.0.1:1/', '--rate', '100', '--concurrency', '8'], /`--rate` \(open model.*or `--concurrency` \(closed model.*not both, got --rate 100 and --concurrency 8/],
  [['start', '--rate', '100', '--concurrency', '8'], /`--rate` .* or `--concurrency` .*not both/],
  [['load', 'http://127.0.0.1:1/', '--requests', '0'], /`--requests` to be a whole number from 1 to 1000000000, got "0"/],
  [['start', '--requests', 'many'], /`--requests` to be a whole number.*got "many"/],
  [['load', 'http://127.0.0.1:1/', '--max-in-flight', '10'], /`--max-in-flight` only with `--rate`/],
  [['load', 'http://127.0.0.1:1/', '--rate', '10', '--max-in-flight', '0'], /`--max-in-flight` to be a whole number from 1 to 100000, got "0"/],
  [['load', 'http://127.0.0.1:1/', '--insecure'], /`--insecure` only with an https:\/\/ URL/],
  [['load', 'ftp://127.0.0.1:1/'], /`<url>` to be an http:\/\/ or https:\/\/ URL/],
  [['backend', '--error-rate', '2'], /`--error-rate` to be a number from 0 to 1/],
  [['backend', '--host', '0.0.0.0'], /`--host` to be a loopback address/],
  [['report', join(dir, 'missing.json')], /`<file>`.*ENOENT/],
  [['report', join(dir, 'not-json.json')], /`<file>`.*does not parse/],
  [['report', join(dir, 'other.json')], /`<file>`.*schemaVersion 1/],
  [['report', join(dir, 'comparison.json')], /`<file>`.*to be a run record, but it is a comparison/],
  [['nonsense'], /unknown command 'nonsense'/],
  [['start', '--duration', '30d'], /`--duration` to be at most 24d, got "30d"/],
  [['start', '--health-interval', '2h'], /`--health-interval` to be at most 1h/],
  [['start', '--algo', 'round-robin', '--weights', '3,2,1'], /`--weights` only with an algorithm that uses weights \(weighted, weighted-least-conn, random, p2c, ip-hash, consistent-hash, maglev, least-response-time\), got --algo round-robin/],
  [['start', '--duration', '5s', '--event', '8s kill b1'], /every `--event` to fall within `--duration` \(5s\)/],
  [['start', '--out', '/nonexistent-dir/run.json'], /`--out` to be a file in a writable folder/],
  [['balance', '--backend', 'http://127.0.0.1:8001/api'], /`--backend` to be an origin like http:\/\/127\.0\.0\.1:8001 \(no path/],
  [['report', join(dir, 'half.json')], /`<file>`.* field totals\.latencyMs to be valid/],
  [['start', '--mode', 'udp'], /`--mode` to be one of http, tcp, got "udp"/],
  [['start', '--backends', '4', '--region', 'us=b1,b2', '--region', 'eu=b3,b4', '--rtt', 'us-eu=80ms', '--client-regions', 'us=60%,asia=40%'], /`--client-regions` to name regions given in `--region` \(us, eu\), got "asia"/],
  [['start', '--backends', '4', '--region', 'us=b1,b2', '--region', 'eu=b3,b4', '--rtt', 'us-eu=80ms', '--client-regions', 'us=60%,eu=30%'], /`--client-regions` to have shares that sum to 100%, got 90%/],
  [['start', '--backends', '4', '--region', 'us=b1,b2', '--region', 'eu=b3,b4', '--rtt', 'us-ap=80ms'], /`--rtt` to name a pair of regions \(us, eu\) as A-B, got "us-ap"/],
  [['start', '--backends', '2', '--rtt', 'us-eu=80ms'], /`--rtt` only with `--region`, got it alone/],
  [['export', 'k6', '--lab', 'gslb'], /a lab k6 can play .*got gslb: its clients are placed in regions and sent by lblab's GSLB tier/],
  [['export', 'k6', '--lab', 'http2-vs-l4'], /a lab k6 can play .*got http2-vs-l4 \(run l7-http2\): its clients speak h2c/],
  [['start', '--mode', 'tcp', '--algo', 'weighted-least-conn'], /`--algo` with `--mode tcp` to be one of round-robin, least-conn, random, ip-hash, consistent-hash, got "weighted-least-conn"/],
  [['balance', '--backend', 'http://127.0.0.1:1', '--mode', 'tcp', '--algo', 'p2c'], /`--algo` with `--mode tcp` to be one of .*got "p2c"/],
  [['start', '--mode', 'tcp', '--algo', 'consistent-hash', '--hash-key', 'header:x-user'], /`--hash-key` with `--mode tcp` to be ip .*got header/],
  [['start', '--mode', 'tcp', '--retry-on', 'error,502'], /`--retry-on` with `--mode tcp` to list only error, timeout \(L4 sees no status\), got 502/],
  [['start', '--mode', 'tcp', '--breaker', '5'], /`--breaker` only with `--mode http`/],
  [['start', '--mode', 'tcp', '--sticky', 'cookie'], /`--sticky` only with `--mode http`/],
  [['load', 'http://127.0.0.1:1/', '--path', 'api/users'], /`--path` to be a path starting with \/.*got "api\/users"/],
  [['start', '--path', '/a b'], /`--path` to be a path starting with \//],
  [['balance', '--backend', 'http://127.0.0.1:1', '--mode', 'tcp', '--rate-limit', '10/s'], /`--rate-limit` only with `--mode http`/],
  [['balance', '--backend', 'http://127.0.0.1:1', '--mode', 'tcp', '--response-timeout', '5s'], /`--response-timeout` only with `--mode http`/],
  [['start', '--mode', 'tcp', '--event', '1s algo maglev'], /`--event` algo with `--mode tcp` to be one of .*got "maglev"/],
  [['start', '--route', '/api'], /`--route` to read MATCH=BACKENDS\[:ALGO\], e\.g\. "\/api=b1,b2".*got "\/api"/],
  [['start', '--route', '/api=b1,b9'], /`--route` backend to be one of b1, b2, b3, got "b9" in "\/api=b1,b9"/],
  [['start', '--route', 'api=b1'], /`--route` match to be \/PATH, host:NAME, header:NAME\[=VALUE\] or default, got "api"/],
  [['start', '--route', '/api=b1:fastest'], /`--route` algorithm to be one of round-robin, .*got "fastest"/],
  [['start', '--route', '/api=b1,b2', '--route', '/static=b2,b3'], /each `--route` backend in one pool, got b2 in "\/api=b1,b2" and "\/static=b2,b3"/],
  [['start', '--route', '/api=b1', '--route', '/api=b2'], /each `--route` match once .*got \/api twice/],
  [['start', '--route', 'default=b1', '--route', '/api=b2'], /`--route` to put every backend in a pool once a default pool is named, got b3 in none/],
  [['start', '--route', '/api=b3', '--backup', 'b3'], /`--route` pool \/api to hold a backend that is not a `--backup`, got only b3/],
  [['start', '--route', '/a=b1', '--routes', join(dir, 'routes-pool.yaml')], /either `--route` or `--routes`, got both/],
  [['start', '--routes', join(dir, 'no-such-routes.yaml')], /`--routes` to be a readable file, but .*no-such-routes\.yaml: ENOENT/],
  [['start', '--routes', join(dir, 'routes-broken.yaml')], /`--routes` file .*routes-broken\.yaml to be YAML or JSON, but it does not parse/],
  [['start', '--routes', join(dir, 'routes-backend.yaml')], /`--routes` file .*routes-backend\.yaml field pools\.api\.backends\[1\] to be one of b1, b2, b3, got "b9"/],
  [['start', '--routes', join(dir, 'routes-pool.yaml')], /`--routes` file .*routes-pool\.yaml field routes\[1\]\.pool to be one of the pools api, got "statics"/],
  [['start', '--routes', join(dir, 'routes-algo.json')], /`--routes` file .*routes-algo\.json field pools\.api\.algo to be valid/],
  [['start', '--routes', join(dir, 'routes-empty-route.yaml')], /`--routes` file .*routes-empty-route\.yaml field routes\[0\] to be valid: a route needs path, host or header/],
  [['balance', '--backend', 'http://127.0.0.1:1', '--route', 'host:=b1'], /`--route` host to be a host name/],
];

describe('bad input: exit 2, one line naming the flag, no stack trace, nothing left running', () => {
  // Each case is one short-lived process refused at start: a few at a time (vitest's maxConcurrency) keeps both cores busy.
  for (const [args, message] of cases) {
    it.concurrent(`lblab ${args.join(' ')}`, async ({ expect }) => {
      const r = await runCliToEnd(args, 30_000);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^lblab: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
      expect(await waitForNoProcesses(r.tag, 2000)).toEqual([]);
    });
  }

  it('a balancer port already in use fails after the backends started, and ends them', async () => {
    const r = await runCliToEnd(['start', '--backends', '2', '--port', String(busyPort), '--duration', '2s'], 30_000);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim()).toBe(`lblab: Expected \`--port\` to be a free port, but 127.0.0.1:${busyPort} is already in use`);
    expect(await waitForNoProcesses(r.tag, 3000)).toEqual([]);
  });

  it('balance on a port in use', async () => {
    const r = await runCliToEnd(['balance', '--port', String(busyPort), '--backend', 'http://127.0.0.1:1'], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/`--port` to be a free port/);
  });

  it('backend on a port in use', async () => {
    const r = await runCliToEnd(['backend', '--port', String(busyPort)], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/`--port` to be a free port/);
  });

  it('--help is not an error', async () => {
    const r = await runCliToEnd(['start', '--help'], 30_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('lblab start --backends 3 --algo weighted');
  });
});
