import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { cleanUpAfterEach, runCli, runCliToEnd, listeningPort } from '../support/cli.js';
import { listenLoopback } from '../support/loopback.js';

const { servers, tags } = cleanUpAfterEach();

/** Paths each {@link pathServer} was asked for, by its name. */
const seen = new Map<string, Set<string>>();

/** A loopback server named `name` that answers every path, says who it is (x-lblab-backend) and notes the paths the load (x-probe: 1) asked for. */
async function pathServer(name: string): Promise<string> {
  seen.set(name, new Set());
  const server = http.createServer((req, res) => {
    // Only the load's requests: health checks carry no x-probe.
    if (req.headers['x-probe'] === '1') seen.get(name)!.add(req.url ?? '');
    res.setHeader('x-lblab-backend', name);
    res.end('ok\n');
  });
  const port = await listenLoopback(server);
  servers.push(server);
  return `http://127.0.0.1:${port}`;
}

/** A plain HTTP server on loopback that answers every path. */
async function plainServer(): Promise<string> {
  const server = http.createServer((_req, res) => res.end('ok\n'));
  const port = await listenLoopback(server);
  servers.push(server);
  return `http://127.0.0.1:${port}`;
}

describe('L7 routing and TLS from the command line', () => {
  it('balance --routes FILE (YAML): paths and hosts reach their pools only, first match wins, the rest get 404', async () => {
    const urls = await Promise.all([1, 2, 3, 4].map(plainServer));
    const dir = mkdtempSync(join(tmpdir(), 'lblab-routes-'));
    const file = join(dir, 'routes.yaml');
    writeFileSync(
      file,
      `pools:
  api: { backends: [api1, api2], algo: round-robin }
  static: { backends: [static] }
  canary: { backends: [canary] }
routes:
  - { path: /api/, header: x-canary, value: 1, pool: canary }
  - { path: /api/, pool: api }
  - { host: static.local, pool: static }
  - { path: /static/, pool: static }
`,
    );
    const run = runCli([
      'balance', '--port', '0', '--routes', file, '--json',
      '--backend', `api1=${urls[0]}`, '--backend', `api2=${urls[1]}`, '--backend', `static=${urls[2]}`, '--backend', `canary=${urls[3]}`,
    ]);
    tags.push(run.tag);
    const port = await listeningPort(run);
    await run.waitFor(/no default pool/);
    const who = async (path: string, headers: Record<string, string> = {}): Promise<string> => {
      const res = await request(`http://127.0.0.1:${port}${path}`, { headers });
      await res.body.text();
      return `${res.statusCode} ${String(res.headers['x-lblab-backend'] ?? '-')}`;
    };
    const api: string[] = [];
    for (let i = 0; i < 6; i++) api.push(await who(`/api/items/${i}`));
    expect(api.sort()).toEqual(['200 api1', '200 api1', '200 api1', '200 api2', '200 api2', '200 api2']);
    expect(await who('/static/logo.png')).toBe('200 static');
    expect(await who('/anything', { host: 'static.local' })).toBe('200 static');
    expect(await who('/api/x', { 'x-canary': '1' })).toBe('200 canary');
    expect(await who('/api')).toBe('404 -');
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    const record = JSON.parse(run.stdout()) as RunRecord;
    expect(record.config.routes?.map((r) => `${r.match}→${r.pool}`)).toEqual(['/api/ & header:x-canary=1→canary', '/api/→api', 'host:static.local→static', '/static/→static']);
    expect(record.backends.map((b) => [b.name, b.pool])).toEqual([
      ['api1', 'api'],
      ['api2', 'api'],
      ['static', 'static'],
      ['canary', 'canary'],
    ]);
    expect(record.totals.statusCodes['404']).toBe(1);
  });

  it('start --route "header:x-canary=1=b3" with 4 clients: client 1 goes to b3, the others to the default pool, shares as expected per pool', async () => {
    const r = await runCliToEnd([
      'start', '--backends', '3', '--route', 'header:x-canary=1=b3', '--clients', '4', '--header', 'x-canary={client}',
      '--concurrency', '8', '--duration', '3s', '--headless', '--json',
    ]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.totals.errors).toBe(0);
    expect(record.totals.requests).toBeGreaterThan(100);
    expect(record.backends.map((b) => b.pool)).toEqual(['default', 'default', 'x-canary=1']);
    // The clients take turns: one in four requests carries x-canary: 1.
    const [b1, b2, b3] = record.backends;
    expect(Math.abs(b3!.share - 0.25)).toBeLessThanOrEqual(0.05);
    // Expected shares within each pool, weighted by the pool's traffic.
    expect(b3!.expectedShare).toBeCloseTo(b3!.share, 2);
    expect(b1!.expectedShare).toBeCloseTo((1 - b3!.share) / 2, 2);
    expect(Math.abs(b1!.share - b2!.share)).toBeLessThanOrEqual(0.05);
  });

  it('start --route "/api=b1,b2" --route "/static=b3", as the course writes it: the load takes both paths in turn and each pool serves only its own', async () => {
    const r = await runCliToEnd(['start', '--backends', '3', '--route', '/api=b1,b2', '--route', '/static=b3', '--concurrency', '8', '--duration', '3s', '--headless', '--json']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('paths /api /static in turn');
    const record = JSON.parse(r.stdout) as RunRecord;
    // No request fell through to a 404: every one matched a route.
    expect(record.totals.statusCodes).toEqual({ '200': record.totals.requests });
    expect(record.totals.requests).toBeGreaterThan(100);
    const [b1, b2, b3] = record.backends;
    expect(record.backends.map((b) => b.pool)).toEqual(['/api', '/api', '/static']);
    // Half the requests are /static ones, all b3's; the /api half is shared by b1 and b2.
    expect(Math.abs(b3!.share - 0.5)).toBeLessThanOrEqual(0.03);
    expect(Math.abs(b1!.share - 0.25)).toBeLessThanOrEqual(0.03);
    expect(Math.abs(b2!.share - 0.25)).toBeLessThanOrEqual(0.03);
  });

  it('start with routes and --sticky cookie: a client keeps one pin per pool (a cookie each), so /api and /static requests do not overwrite each other', async () => {
    const r = await runCliToEnd([
      // random: a client that lost its pin would land anywhere, so a lost pin shows.
      'start', '--backends', '4', '--algo', 'random', '--route', '/api=b1,b2', '--route', '/static=b3,b4', '--sticky', 'cookie', '--clients', '10', '--concurrency', '4',
      '--duration', '3s', '--headless', '--json',
    ]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.totals.errors).toBe(0);
    // Every client met exactly two backends: one in /api, one in /static, and stayed on both.
    expect(record.clients).toMatchObject({ total: 10, touched: { '2': 10 } });
  });

  it('load --path takes the paths in turn: through path routes, each path reaches its own pool', async () => {
    const [a, b] = [await pathServer('api'), await pathServer('static')];
    const bal = runCli(['balance', '--backend', `api=${a}`, '--backend', `static=${b}`, '--route', '/api=api', '--route', '/static=static', '--port', '0']);
    tags.push(bal.tag);
    try {
      const url = (await bal.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+\/)/))[1]!;
      const r = await runCliToEnd(['load', url, '--path', '/api/users', '--path', '/static/logo.png?v=2', '--header', 'x-probe=1', '--concurrency', '2', '--requests', '40', '--json']);
      tags.push(r.tag);
      expect(r.code, r.stderr).toBe(0);
      const record = JSON.parse(r.stdout) as RunRecord;
      expect(record.totals.statusCodes).toEqual({ '200': 40 });
      expect(Object.fromEntries(record.backends.map((x) => [x.name, x.requests]))).toEqual({ api: 20, static: 20 });
      expect(seen.get('api')).toEqual(new Set(['/api/users']));
      expect(seen.get('static')).toEqual(new Set(['/static/logo.png?v=2']));
    } finally {
      bal.child.kill('SIGTERM');
    }
    expect(await bal.exit).toBe(0);
  });

  it('start --tls: the load speaks HTTPS through the balancer with no errors, and the record counts the handshakes', async () => {
    const r = await runCliToEnd(['start', '--backends', '2', '--tls', '--headless', '--duration', '3s', '--json']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/balancer on https:\/\/127\.0\.0\.1:\d+\//);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.config.tls).toBe(true);
    expect(record.totals.errors).toBe(0);
    expect(record.totals.requests).toBeGreaterThan(100);
    expect(record.backends.every((b) => b.requests > 0)).toBe(true);
    const tls = record.totals.tls!;
    // Keep-alive: a handshake per connection (16 workers), far fewer than requests.
    expect(tls.handshakes).toBeGreaterThanOrEqual(1);
    expect(tls.handshakes).toBeLessThan(record.totals.requests / 10);
    expect(tls.failed).toBe(0);
    expect(tls.handshakeMs.p50).toBeGreaterThan(0);
    expect(tls.handshakeMs.max).toBeGreaterThanOrEqual(tls.handshakeMs.p99);
  });
});
