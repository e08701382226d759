import http from 'node:http';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { cleanUpAfterEach, runCli, listeningPort } from '../support/cli.js';
import { get as httpGet, header } from '../support/http.js';
import { listenLoopback } from '../support/loopback.js';

/** Plain Node HTTP servers that know nothing of lblab: no x-lblab-backend, no /health. */
async function plainServer(label: string): Promise<{ server: http.Server; port: number; url: string }> {
  const server = http.createServer((req, res) => {
    res.setHeader('x-served-by', label);
    res.setHeader('x-seen-xff', String(req.headers['x-forwarded-for'] ?? ''));
    res.setHeader('connection', 'keep-alive');
    res.end(`plain ${label} ${req.url}\n`);
  });
  const port = await listenLoopback(server);
  return { server, port, url: `http://127.0.0.1:${port}` };
}

/** GETs `url`: the answer, with the plain server's name and the X-Forwarded-For it saw (from {@link plainServer}'s headers). */
async function get(url: string) {
  const a = await httpGet(url);
  return { ...a, servedBy: header(a, 'x-served-by'), xff: header(a, 'x-seen-xff') };
}

const { servers, tags } = cleanUpAfterEach();

describe('lblab balance in front of plain HTTP servers', () => {
  it('cycles nine requests through three servers, routes around a dead one, and reports on SIGTERM', async () => {
    const backends = await Promise.all(['one', 'two', 'three'].map(plainServer));
    servers.push(...backends.map((b) => b.server));
    const run = runCli([
      'balance', '--port', '0', '--algo', 'round-robin', '--health-interval', '200ms',
      ...backends.flatMap((b) => ['--backend', b.url]), '--json',
    ]);
    tags.push(run.tag);
    const port = await listeningPort(run);
    const base = `http://127.0.0.1:${port}`;

    const seen: string[] = [];
    for (let i = 0; i < 9; i++) {
      const r = await get(`${base}/page?i=${i}`);
      expect(r.status).toBe(200);
      expect(r.body).toBe(`plain ${r.servedBy} /page?i=${i}\n`);
      expect(r.xff).toBe('127.0.0.1');
      seen.push(r.backend!);
    }
    expect(seen).toEqual(['b1', 'b2', 'b3', 'b1', 'b2', 'b3', 'b1', 'b2', 'b3']);

    // Kill the second server: every request still succeeds, none reaches it
    // (a try on b2 fails to connect and is retried on the next in turn, b3).
    const dead = servers[1]!;
    dead.closeAllConnections();
    await new Promise((r) => dead.close(r));
    servers.splice(1, 1);
    for (let i = 0; i < 6; i++) {
      const r = await get(`${base}/`);
      expect(r.status).toBe(200);
      expect(r.backend).not.toBe('b2');
    }
    await run.waitFor(/down b2\s+3 failed checks, last L4CON/);

    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    const record = JSON.parse(run.stdout()) as RunRecord;
    expect(record.config.command).toBe('balance');
    expect(record.backends.map((b) => [b.name, b.requests])).toEqual([
      ['b1', 6],
      ['b2', 3],
      ['b3', 6],
    ]);
    expect(record.backends[1]!.health.state).toBe('down');
    expect(record.totals.errors).toBe(0);
  });

  it('answers 503 with a clear body when no backend is UP', async () => {
    const { server, url } = await plainServer('only');
    servers.push(server);
    const run = runCli(['balance', '--port', '0', '--backend', url, '--health-interval', '100ms', '--fall', '1']);
    tags.push(run.tag);
    const port = await listeningPort(run);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    servers.length = 0;
    await run.waitFor(/down b1/);
    const r = await get(`http://127.0.0.1:${port}/`);
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/no backend is UP in this upstream \(DOWN: b1\)/);
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toMatch(/b1\s+1\s+0\s+.*DOWN/);
  });

  it('strips hop-by-hop headers, streams bodies both ways and names the backend', async () => {
    const upstream = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(200, { 'keep-alive': 'timeout=5', 'x-custom': 'kept', 'x-got-te': String(req.headers['te'] ?? 'none') });
        res.write('echo:');
        setTimeout(() => res.end(Buffer.concat(chunks)), 20);
      });
    });
    const upstreamPort = await listenLoopback(upstream);
    servers.push(upstream);
    const run = runCli(['balance', '--port', '0', '--backend', `api=http://127.0.0.1:${upstreamPort}`]);
    tags.push(run.tag);
    const port = await listeningPort(run);
    const res = await fetch(`http://127.0.0.1:${port}/echo`, { method: 'POST', body: 'x'.repeat(100_000), headers: { te: 'trailers' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-lblab-backend')).toBe('api');
    expect(res.headers.get('x-custom')).toBe('kept');
    // the upstream's own Keep-Alive is hop-by-hop: not forwarded (the balancer's connection may send its own)
    expect(res.headers.get('keep-alive')).not.toBe('timeout=5');
    expect(res.headers.get('x-got-te')).toBe('none');
    expect(await res.text()).toBe('echo:' + 'x'.repeat(100_000));
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  });

  it('logs passive ejections on stderr and in its record, not only health changes', async () => {
    const sick = http.createServer((_req, res) => {
      res.statusCode = 500;
      res.end('no');
    });
    const sickPort = await listenLoopback(sick);
    servers.push(sick);
    const well = await plainServer('well');
    servers.push(well.server);
    const run = runCli([
      'balance', '--port', '0', '--eject-consecutive', '2', '--eject-time', '30s', '--max-ejection-percent', '50',
      '--backend', `http://127.0.0.1:${sickPort}`, '--backend', well.url, '--json',
    ]);
    tags.push(run.tag);
    const port = await listeningPort(run);
    for (let i = 0; i < 4; i++) await get(`http://127.0.0.1:${port}/`);
    await run.waitFor(/ejected b1\s+2 failed tries in a row/);
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    const record = JSON.parse(run.stdout()) as RunRecord;
    expect(record.events.map((e) => [e.type, e.target])).toContainEqual(['ejected', 'b1']);
    expect(record.config.proxy?.outlier).toEqual({ mode: 'envoy', consecutive: 2, baseEjectionMs: 30_000, maxEjectionPercent: 50 });
  });
});
