import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { runCli, runCliToEnd, tagsAfterEach, listeningPort } from '../support/cli.js';
import { closeAll, listenHttps, type Closers } from '../support/loopback.js';

const tags = tagsAfterEach();

describe('lblab load --rate (open model) against lblab backend', () => {
  it('--rate 2000 --duration 2s: the schedule is kept or its shortfall counted; the report pairs corrected and uncorrected latency', async () => {
    const backend = runCli(['backend', '--port', '0', '--name', 'solo', '--latency', '1ms', '--capacity', '100']);
    tags.push(backend.tag);
    const port = await listeningPort(backend);
    const r = await runCliToEnd(['load', `http://127.0.0.1:${port}/`, '--rate', '2000', '--duration', '2s', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rec = JSON.parse(r.stdout) as RunRecord;
    expect(rec.config).toMatchObject({ command: 'load', rate: 2000, maxInFlight: 1000 });
    expect(rec.config.concurrency).toBeUndefined();
    const t = rec.totals;
    // 4000 requests were due in 2 s: each was sent and completed, or counted as never sent.
    expect(t.requests + t.unsent!).toBeGreaterThanOrEqual(3990);
    expect(t.requests + t.unsent!).toBeLessThanOrEqual(4000);
    expect(t.requests).toBeGreaterThan(1000);
    // Counted once per request: no more late sends than sends, no more slot waits than requests due.
    expect(t.lateSends!).toBeLessThanOrEqual(t.requests);
    expect(t.waitedForSlot!).toBeLessThanOrEqual(t.requests + t.unsent!);
    // From the scheduled time a request can only look slower than from its real send.
    expect(t.latencyMs.p99).toBeGreaterThanOrEqual(t.uncorrectedLatencyMs!.p99);
    expect(t.latencyMs.max).toBeGreaterThanOrEqual(t.uncorrectedLatencyMs!.max);
    expect(rec.sequence).toEqual(Array.from({ length: 100 }, () => 'solo'));
    expect(r.stderr).toMatch(/req\/s .* late \d+/);
    // The warm-up went to the backend before the schedule, and is in none of the run's figures.
    expect(t.warmUpRequests).toBeGreaterThan(0);
    expect(t.warmUpRequests).toBeLessThanOrEqual(2000);
    const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { served: number };
    expect(health.served).toBe(t.requests + t.warmUpRequests!);

    const text = await runCliToEnd(['load', `http://127.0.0.1:${port}/`, '--rate', '300', '--requests', '150']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/lblab load · http:\/\/127\.0\.0\.1:\d+\/ · rate 300 req\/s/);
    expect(text.stdout).toMatch(/Requests 150 /);
    expect(text.stdout).toMatch(/Latency p50 .*\(from the scheduled send\)/);
    expect(text.stdout).toMatch(/Uncorrected p50 \S+ +p99 \S+ +max \S+ +late sends \d+/);
    expect(text.stdout).toMatch(/Warm-up +\d+ requests before the schedule started, counted in none of the figures/);
    backend.child.kill('SIGTERM');
    expect(await backend.exit).toBe(0);
  });
});

describe('lblab start with --rate, --requests and --clients', () => {
  it('ends after --requests responses, with the clients’ stickiness and the first responses in the record', async () => {
    const r = await runCliToEnd(['start', '--backends', '3', '--rate', '400', '--requests', '240', '--clients', '10', '--json']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const rec = JSON.parse(r.stdout) as RunRecord;
    expect(rec.config).toMatchObject({ command: 'start', rate: 400, requests: 240, clients: 10 });
    expect(rec.totals.requests).toBe(240);
    expect(rec.totals.uncorrectedLatencyMs).toBeDefined();
    // Round robin, 10 clients in turn, 3 backends: client c sends requests c, c+10, c+20 … and meets them all.
    const touched = rec.clients!.touched;
    expect(rec.clients).toMatchObject({ total: 10, stickiness: 0 });
    expect(Object.values(touched).reduce((a, b) => a + b, 0)).toBe(10);
    expect(touched['3']).toBeGreaterThanOrEqual(8);
    expect(rec.sequence).toHaveLength(100);
    expect(new Set(rec.sequence)).toEqual(new Set(['b1', 'b2', 'b3']));
    expect(r.stderr).toMatch(/rate 400 req\/s, 240 requests/);
  });

  it('closed model, one worker, nine requests: the sequence is round robin’s cycle and the report names the clients', async () => {
    const r = await runCliToEnd(['start', '--backends', '3', '--concurrency', '1', '--requests', '9', '--clients', '3', '--out', '/dev/null']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Requests 9 /);
    // Client k meets backend k every time: 3 clients, 3 backends, in step.
    expect(r.stdout).toMatch(/Clients 3 · met 1 backend: 3 · stickiness 100\.0%/);
    const json = await runCliToEnd(['start', '--backends', '3', '--concurrency', '1', '--requests', '9', '--json']);
    tags.push(json.tag);
    expect((JSON.parse(json.stdout) as RunRecord).sequence).toEqual(['b1', 'b2', 'b3', 'b1', 'b2', 'b3', 'b1', 'b2', 'b3']);
  });
});

describe('lblab load against https', () => {
  const closers: Closers = [];
  let url = '';
  beforeAll(async () => {
    const server = await listenHttps((_req, res) => {
      res.writeHead(200, { 'x-lblab-backend': 'tls1', 'content-length': 2 });
      res.end('ok');
    }, closers);
    url = `${server.url}/`;
  });
  afterAll(() => closeAll(closers));

  it('a self-signed certificate without --insecure: exit 1 and a message that names --insecure', async () => {
    const r = await runCliToEnd(['load', url, '--requests', '5']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^lblab: the server certificate of https:\/\/127\.0\.0\.1:\d+ is not trusted: .*; pass --insecure to accept a self-signed certificate$/);
    expect(r.stdout).toBe('');
  });

  it('with --insecure: served and attributed', async () => {
    const r = await runCliToEnd(['load', url, '--insecure', '--rate', '100', '--requests', '20', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rec = JSON.parse(r.stdout) as RunRecord;
    expect(rec.totals).toMatchObject({ requests: 20, errors: 0, statusCodes: { '200': 20 } });
    expect(rec.backends.map((b) => [b.name, b.requests])).toEqual([['tls1', 20]]);
  });
});
