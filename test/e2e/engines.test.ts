import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '../../src/balancer/tls.js';
import type { RunRecord } from '../../src/metrics/run-record.js';
import type { Comparison } from '../../src/report/comparison.js';
import { listeningPort, runCli, runCliToEnd, tagsAfterEach, waitForNoProcesses } from '../support/cli.js';
import { get, header } from '../support/http.js';
import { listenLoopback } from '../support/loopback.js';

/**
 * The real balancers as engines of lblab (issue 12): the configs `lblab
 * export` writes pass the engines' own checks, and `start --engine` runs a
 * real HAProxy or nginx in front of real backends — nginx's smooth WRR
 * order, HAProxy's own checks taking a killed backend DOWN, cookie
 * stickiness through HAProxy — and leaves no engine process behind, even
 * when lblab is SIGKILLed. .ci/run installs haproxy and nginx.
 */

const tags = tagsAfterEach();
const dir = mkdtempSync(join(tmpdir(), 'lblab-engines-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const backends = ['--backend', 'http://127.0.0.1:8001', '--backend', 'http://127.0.0.1:8002', '--backend', 'http://127.0.0.1:8003'];

/** Flag sets for the export matrix: every algorithm each engine has, sticky, routes, TLS, tcp, and the proxy settings. */
const MATRIX: Record<'haproxy' | 'nginx', string[][]> = {
  haproxy: [
    ['--algo', 'round-robin'],
    ['--algo', 'weighted', '--weights', '5,1,1'],
    ['--algo', 'least-conn', '--sticky', 'cookie'],
    ['--algo', 'weighted-least-conn', '--weights', '3,2,1', '--sticky', 'ip:10m'],
    ['--algo', 'random', '--backup', 'b3', '--on-marked-down', 'shutdown-sessions'],
    ['--algo', 'p2c', '--slow-start', '5s', '--rate-limit', '20/s:5'],
    ['--algo', 'ip-hash'],
    ['--algo', 'consistent-hash', '--hash-key', 'cookie:uid'],
    ['--algo', 'consistent-hash', '--hash-key', 'path', '--retries', '2', '--retry-on', 'error,500'],
    ['--route', '/api=b1,b2:least-conn', '--route', 'host:static.local=b3', '--sticky', 'cookie'],
    ['--route', 'header:x-canary=1=b3', '--route', 'default=b1,b2', '--health-check', 'tcp'],
    ['--tls', '--algo', 'least-conn'],
    ['--tls', '--http2'],
    ['--mode', 'tcp', '--algo', 'least-conn'],
    ['--mode', 'tcp', '--algo', 'consistent-hash', '--retries', '0', '--on-marked-down', 'shutdown-sessions'],
  ],
  nginx: [
    ['--algo', 'round-robin'],
    ['--algo', 'weighted', '--weights', '5,1,1', '--max-fails', '2', '--fail-timeout', '5s'],
    ['--algo', 'least-conn', '--backup', 'b3'],
    ['--algo', 'weighted-least-conn', '--weights', '3,2,1'],
    ['--algo', 'random'],
    ['--algo', 'p2c', '--rate-limit', '20/s:5'],
    ['--algo', 'ip-hash', '--retries', '0'],
    ['--algo', 'consistent-hash', '--hash-key', 'header:x-user', '--retry-on', 'error,timeout,429', '--retry-non-idempotent'],
    ['--route', '/api=b1,b2:least-conn', '--route', 'host:static.local=b3'],
    ['--route', 'header:x-canary=1=b3', '--route', '/static=b2'],
    ['--tls', '--algo', 'least-conn'],
    ['--http2'],
    ['--mode', 'tcp', '--algo', 'least-conn'],
    ['--mode', 'tcp', '--algo', 'consistent-hash'],
  ],
};

describe('lblab export: configs the real engines accept', () => {
  it('every flag set of the matrix gives a config haproxy -c and nginx -t accept, commented with its flags', async () => {
    const pem = await selfSignedCertificate('127.0.0.1');
    writeFileSync(join(dir, 'lblab.pem'), `${pem.cert}\n${pem.key}`);
    writeFileSync(join(dir, 'lblab.crt'), pem.cert);
    writeFileSync(join(dir, 'lblab.key'), pem.key);
    // The exports are short processes that only print: four at a time, then each config checked in turn.
    const cases = (['haproxy', 'nginx'] as const).flatMap((engine) => MATRIX[engine].map((flags) => ({ engine, flags })));
    const exported: Array<Awaited<ReturnType<typeof runCliToEnd>>> = [];
    for (let i = 0; i < cases.length; i += 4) {
      exported.push(...(await Promise.all(cases.slice(i, i + 4).map(({ engine, flags }) => runCliToEnd(['export', engine, ...backends, ...flags])))));
    }
    for (const [i, { engine, flags }] of cases.entries()) {
      const r = exported[i]!;
      expect(r.code, `${engine} ${flags.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`# ${flags[0]}`));
      if (flags.includes('--on-marked-down')) {
        const servers = r.stdout.split('\n').filter((l) => /^\s+server /.test(l));
        expect(servers.length).toBeGreaterThan(0);
        for (const line of servers) expect(line).toMatch(/ on-marked-down shutdown-sessions\b/);
      }
      const file = join(dir, engine === 'haproxy' ? 'haproxy.cfg' : 'nginx.conf');
      writeFileSync(file, r.stdout);
      // The config names its certificate beside itself: run the check from there.
      const check =
        engine === 'haproxy'
          ? spawnSync('haproxy', ['-c', '-f', file], { cwd: dir, encoding: 'utf8' })
          : spawnSync('nginx', ['-t', '-e', 'stderr', '-p', `${dir}/`, '-c', file], { cwd: dir, encoding: 'utf8' });
      expect(check.status, `${engine} ${flags.join(' ')}:\n${check.stderr}\n${r.stdout}`).toBe(0);
    }
  });

  it('a lab exports too, with its servers on 8001… and a k6 script that node can parse', async () => {
    const h = await runCliToEnd(['export', 'haproxy', '--lab', 'failover']);
    expect(h.code, h.stderr).toBe(0);
    expect(h.stdout).toMatch(/server b1 127\.0\.0\.1:8001/);
    writeFileSync(join(dir, 'failover.cfg'), h.stdout);
    expect(spawnSync('haproxy', ['-c', '-f', join(dir, 'failover.cfg')], { cwd: dir }).status).toBe(0);
    const k6 = await runCliToEnd(['export', 'k6', '--lab', 'failover']);
    expect(k6.code, k6.stderr).toBe(0);
    expect(k6.stdout).toMatch(/http_req_failed/);
    writeFileSync(join(dir, 'failover.mjs'), k6.stdout);
    execFileSync(process.execPath, ['--check', join(dir, 'failover.mjs')]);
  });

  it('what an engine lacks exits 2 in one line naming the flag, the engine and the closest it has', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['export', 'nginx', ...backends, '--algo', 'maglev'], /`--algo`.*nginx.*closest: consistent-hash/],
      [['export', 'nginx', ...backends, '--sticky', 'cookie'], /`--sticky`.*nginx.*closest: --algo consistent-hash/],
      [['export', 'haproxy', ...backends, '--algo', 'peak-ewma'], /`--algo`.*haproxy.*closest: p2c/],
      [['export', 'haproxy', ...backends, '--breaker', '3'], /`--breaker`.*haproxy/],
      [['export', 'nginx', ...backends, '--algo', 'weighted', '--slow-start', '5s'], /`--slow-start`.*nginx.*NGINX Plus/],
      [['export', 'nginx', ...backends, '--on-marked-down', 'shutdown-sessions'], /`--on-marked-down`.*nginx.*--engine haproxy \(on-marked-down shutdown-sessions\)/],
      [['start', '--on-marked-down', 'kill-them'], /^lblab: Expected `--on-marked-down` to be shutdown-sessions, got "kill-them"/],
      [['export', 'envoy', ...backends], /<target>.*haproxy, nginx, k6/],
      [['start', '--engine', 'envoy'], /`--engine`.*lblab, haproxy, nginx/],
      [['start', '--engine', 'nginx', '--algo', 'least-response-time'], /`--algo`.*nginx.*least_time is NGINX Plus only/],
    ];
    for (const [args, message] of cases) {
      const r = await runCliToEnd(args);
      tags.push(r.tag);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });

  it('a missing program exits 2 saying how to install it, with nothing started', async () => {
    const r = await runCliToEnd(['start', '--engine', 'haproxy', '--headless', '--duration', '2s'], 20_000, { PATH: '/nonexistent' });
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim()).toMatch(/^lblab: `--engine haproxy` needs the haproxy program, not found on PATH: apt-get install haproxy$/);
  });
});

describe('lblab start --engine (a real engine in front of real backends)', () => {
  it('nginx, weights 5,1,1, one client, 70 requests: b1 b1 b2 b1 b3 b1 b1 first, as lblab, and shares 5:1:1 within 1 point', async () => {
    const args = ['--backends', '3', '--algo', 'weighted', '--weights', '5,1,1', '--concurrency', '1', '--requests', '70', '--headless', '--json'];
    for (const engine of ['nginx', 'lblab']) {
      const r = await runCliToEnd(['start', '--engine', engine, ...args]);
      tags.push(r.tag);
      expect(r.code, r.stderr).toBe(0);
      const record = JSON.parse(r.stdout) as RunRecord;
      expect(record.config.engine).toBe(engine === 'lblab' ? undefined : engine);
      expect(record.sequence!.slice(0, 7), engine).toEqual(['b1', 'b1', 'b2', 'b1', 'b3', 'b1', 'b1']);
      expect(record.totals.requests).toBe(70);
      const shares = record.backends.map((b) => b.share);
      for (const [i, want] of [5 / 7, 1 / 7, 1 / 7].entries()) expect(Math.abs(shares[i]! - want), `${engine} b${i + 1}`).toBeLessThanOrEqual(0.01);
    }
  });

  it('HAProxy, checks inter 1s fall 3: a SIGKILLed b2 is DOWN in the record within fall × inter + timeout + 1.5 s, from its stats socket, and retries keep errors ≤ 1%', async () => {
    const r = await runCliToEnd([
      'start', '--engine', 'haproxy', '--backends', '3', '--health-interval', '1s', '--fall', '3', '--health-timeout', '500ms',
      '--concurrency', '4', '--event', '2s kill b2', '--duration', '8s', '--headless', '--json',
    ]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    const down = record.backends[1]!.health!.transitions.find((t) => t.to === 'down');
    expect(down, JSON.stringify(record.backends[1])).toBeDefined();
    expect(down!.reason).toMatch(/L4CON.*HAProxy stats/);
    expect(down!.atMs - 2000).toBeGreaterThan(0);
    expect(down!.atMs - 2000).toBeLessThanOrEqual(3 * 1000 + 500 + 1500);
    expect(record.totals.errors / record.totals.requests).toBeLessThanOrEqual(0.01);
    expect(record.backends[0]!.health!.state).toBe('up');
  });

  it('cookie stickiness through HAProxy: 30 virtual clients each meet one backend', async () => {
    // 4 workers for 30 clients: a client's next request leaves 30 sends after its first, long after the
    // answer that set its cookie. With 16 (the default) a first answer 15 places late once left a client's
    // second request without the cookie, balanced elsewhere (stickiness 0.9667 in a clean-clone CI run).
    const r = await runCliToEnd(['start', '--engine', 'haproxy', '--backends', '3', '--sticky', 'cookie', '--clients', '30', '--concurrency', '4', '--duration', '3s', '--headless', '--json']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.clients!.total).toBe(30);
    expect(record.clients!.stickiness).toBe(1);
    // And the clients are spread: stickiness is per client, not everyone on one backend.
    expect(Math.max(...record.backends.map((b) => b.share))).toBeLessThan(0.8);
  });

  it('a SIGKILLed lblab leaves no haproxy or nginx process behind', async () => {
    for (const engine of ['haproxy', 'nginx']) {
      const run = runCli(['start', '--engine', engine, '--backends', '2', '--headless', '--duration', '30s']);
      await run.waitFor(/\b1s\b.*req\/s|req\/s/, 20_000);
      const engines = () => spawnSync('pgrep', ['-x', engine], { encoding: 'utf8' }).stdout.trim();
      expect(engines(), `${engine} runs`).not.toBe('');
      run.child.kill('SIGKILL');
      await run.exit;
      expect(await waitForNoProcesses(run.tag, 8000), engine).toEqual([]);
    }
  });
});

describe('balance, compare and lab run on an engine', () => {
  it('balance --engine nginx in front of plain servers: nginx round robin names who answered, routes around a dead one, and the report counts what nginx served', async () => {
    const servers = await Promise.all(
      ['one', 'two', 'three'].map(async (label) => {
        const server = http.createServer((_req, res) => res.end(`plain ${label}\n`));
        return { server, port: await listenLoopback(server) };
      }),
    );
    try {
      const run = runCli(['balance', '--engine', 'nginx', '--port', '0', ...servers.flatMap((b) => ['--backend', `http://127.0.0.1:${b.port}`]), '--json']);
      tags.push(run.tag);
      const port = await listeningPort(run);
      const seen: string[] = [];
      for (let i = 0; i < 9; i++) {
        const r = await get(`http://127.0.0.1:${port}/`);
        expect(r.status).toBe(200);
        seen.push(header(r, 'x-lblab-backend')!);
      }
      expect(seen).toEqual(['b1', 'b2', 'b3', 'b1', 'b2', 'b3', 'b1', 'b2', 'b3']);
      servers[1]!.server.close();
      servers[1]!.server.closeAllConnections();
      for (let i = 0; i < 6; i++) {
        const r = await get(`http://127.0.0.1:${port}/`);
        expect(r.status, 'nginx retries the dead one elsewhere (proxy_next_upstream)').toBe(200);
        expect(header(r, 'x-lblab-backend')).not.toBe('b2');
      }
      run.child.kill('SIGTERM');
      expect(await run.exit).toBe(0);
      const record = JSON.parse(run.stdout()) as RunRecord;
      expect(record.config.engine).toBe('nginx');
      expect(record.totals.requests).toBe(15);
      expect(record.totals.errors).toBe(0);
      expect(record.backends.map((b) => b.requests)).toEqual([6, 3, 6]);
    } finally {
      for (const s of servers) {
        s.server.closeAllConnections();
        s.server.close();
      }
    }
  });

  it('compare --engines lblab,haproxy,nginx: one column per engine, the same 5:1:1 on each', async () => {
    const out = join(dir, 'engines-compare.json');
    const r = await runCliToEnd(['compare', '--engines', 'lblab,haproxy,nginx', '--algo', 'weighted', '--weights', '5,1,1', '--backends', '3', '--concurrency', '4', '--duration', '2s', '--out', out]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/weighted \(lblab\)\s+weighted \(haproxy\)\s+weighted \(nginx\)/);
    const c = JSON.parse(readFileSync(out, 'utf8')) as Comparison;
    expect(c.results.map((x) => x.engine)).toEqual([undefined, 'haproxy', 'nginx']);
    for (const x of c.results) expect(Math.abs(x.shares.b1! - 5 / 7), x.engine ?? 'lblab').toBeLessThan(0.03);
  });

  it('the sticky-sessions lab file passes on HAProxy as on lblab; a lab not valid for an engine exits 2 saying so', async () => {
    for (const engine of ['lblab', 'haproxy']) {
      const r = await runCliToEnd(['lab', 'run', 'sticky-sessions', '--engine', engine, '--headless']);
      tags.push(r.tag);
      expect(r.code, `${engine}: ${r.stdout}${r.stderr}`).toBe(0);
      if (engine === 'haproxy') expect(r.stderr).toMatch(/on a real haproxy/);
    }
    const bad = await runCliToEnd(['lab', 'run', 'draining', '--engine', 'nginx', '--headless']);
    tags.push(bad.tag);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^lblab: Expected `--engine` to be one lab draining runs on \(lblab, haproxy\), got nginx/);
  });
});
