import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { runCli, runCliToEnd, tagsAfterEach, listeningPort } from '../support/cli.js';
import { REFUSED_PORT, listenLoopback } from '../support/loopback.js';

const tags = tagsAfterEach();

describe('lblab backend', () => {
  it('names itself in x-lblab-backend, answers /health JSON and queues beyond its capacity', async () => {
    const run = runCli(['backend', '--port', '0', '--name', 'slowpoke', '--latency', '400ms', '--capacity', '1']);
    tags.push(run.tag);
    const port = await listeningPort(run);
    const base = `http://127.0.0.1:${port}`;

    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-lblab-backend')).toBe('slowpoke');
    expect(await res.text()).toBe('hello from slowpoke\n');

    // three at once against capacity 1: one served, two queued
    const pending = [1, 2, 3].map(() => fetch(`${base}/`).then((r) => r.text()));
    let health: { name: string; inFlight: number; queued: number; capacity: number; load: number; served: number; uptimeMs: number } | undefined;
    await vi.waitFor(
      async () => {
        const h = await fetch(`${base}/health`);
        expect(h.status).toBe(200);
        health = (await h.json()) as typeof health;
        if (!(health!.inFlight === 1 && health!.queued === 2)) throw new Error(`timed out waiting for one in flight and two queued; /health said ${JSON.stringify(health)}`);
      },
      { timeout: 5000, interval: 20 },
    );
    expect(health).toMatchObject({ name: 'slowpoke', inFlight: 1, queued: 2, capacity: 1, load: 1 });
    expect(health!.uptimeMs).toBeGreaterThan(0);
    await Promise.all(pending);
    const after = (await (await fetch(`${base}/health`)).json()) as { served: number; queued: number };
    expect(after).toMatchObject({ served: 4, queued: 0 });

    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  });

  it('answers 500 at its error rate', async () => {
    const run = runCli(['backend', '--port', '0', '--error-rate', '1', '--latency', '0ms']);
    tags.push(run.tag);
    const port = await listeningPort(run);
    const res = await fetch(`http://127.0.0.1:${port}/x`);
    expect(res.status).toBe(500);
    expect(res.headers.get('x-lblab-backend')).toBe('b1');
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(0);
  });
});

describe('lblab load', () => {
  it('reports totals, status codes and per-backend counts from x-lblab-backend', async () => {
    const backend = runCli(['backend', '--port', '0', '--name', 'solo', '--latency', '2ms']);
    tags.push(backend.tag);
    const port = await listeningPort(backend);
    const r = await runCliToEnd(['load', `http://127.0.0.1:${port}/`, '--concurrency', '4', '--duration', '2s', '--json']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.config).toMatchObject({ command: 'load', concurrency: 4 });
    expect(record.totals.requests).toBeGreaterThan(100);
    expect(record.totals.statusCodes['200']).toBe(record.totals.requests);
    expect(record.totals.errors).toBe(0);
    // 2ms service time: p50 at least 2ms, recorded with sub-ms resolution
    expect(record.totals.latencyMs.p50).toBeGreaterThanOrEqual(2);
    expect(Number.isInteger(record.totals.latencyMs.p50)).toBe(false);
    expect(record.backends).toHaveLength(1);
    expect(record.backends[0]).toMatchObject({ name: 'solo', requests: record.totals.requests, share: 1 });
    expect(r.stderr).toMatch(/req\/s/);
    // The generator's own floor, measured before the run against a zero-latency target: well under the 2 ms the backend takes at p50.
    const floor = record.generatorFloor!;
    expect(floor.requests).toBeGreaterThan(0);
    expect(floor.p50Us).toBeGreaterThan(0);
    expect(floor.p50Us).toBeLessThan(record.totals.latencyMs.p50 * 1000);
    expect(floor.p99Us).toBeGreaterThanOrEqual(floor.p50Us);
    expect(record.totals.latencyMs.p9999).toBeGreaterThanOrEqual(record.totals.latencyMs.p999);
    backend.child.kill('SIGTERM');
    await backend.exit;
  });

  it('counts a response body cut short as a transport error, not a success', async () => {
    const http = await import('node:http');
    const cut = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '10000', 'x-lblab-backend': 'cutter' });
      res.write('x'.repeat(100), () => res.socket?.destroy());
    });
    const port = await listenLoopback(cut);
    const r = await runCliToEnd(['load', `http://127.0.0.1:${port}/`, '--concurrency', '2', '--duration', '1s', '--json']);
    tags.push(r.tag);
    cut.closeAllConnections();
    await new Promise((res) => cut.close(res));
    // Not one whole response: exit 1, after the record was printed.
    expect(r.code, r.stderr).toBe(1);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.totals.requests).toBeGreaterThan(0);
    expect(record.totals.errors).toBe(record.totals.requests);
    expect(record.totals.statusCodes).toEqual({});
    expect(r.stderr).toMatch(/^lblab: no request got a response: connection reset [\d ]+ of [\d ]+$/m);
  });

  it('counts refused connections as transport errors, still stops by itself, and exits 1 saying no request got a response', async () => {
    // A port nothing listens on, ever (not one just closed: the next listen(0) may be given it back).
    const dir = mkdtempSync(join(tmpdir(), 'lblab-refused-'));
    const out = join(dir, 'run.json');
    const r = await runCliToEnd(['load', `http://127.0.0.1:${REFUSED_PORT}/`, '--concurrency', '2', '--duration', '1s', '--json', '--out', out]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(1);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.totals.requests).toBeGreaterThan(0);
    expect(record.totals.errors).toBe(record.totals.requests);
    expect(record.totals.errorKinds.refused).toBe(record.totals.requests);
    // The record is out before the verdict, and the verdict is one line with the counts.
    expect((JSON.parse(readFileSync(out, 'utf8')) as RunRecord).totals.requests).toBe(record.totals.requests);
    const n = String(record.totals.requests).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
    expect(r.stderr.trim().split('\n').at(-1)).toBe(`lblab: no request got a response: connection refused ${n} of ${n}`);
  });

  it('--fail-on-errors exits 3 when the error rate is above it, 0 when not, with the report and --out written first', async () => {
    const backend = runCli(['backend', '--port', '0', '--error-rate', '0.5', '--latency', '0ms']);
    tags.push(backend.tag);
    const port = await listeningPort(backend);
    const dir = mkdtempSync(join(tmpdir(), 'lblab-threshold-'));
    const run = (rate: string) =>
      runCliToEnd(['load', `http://127.0.0.1:${port}/`, '--requests', '400', '--concurrency', '4', '--fail-on-errors', rate, '--out', join(dir, `${rate}.json`)]);
    const [strict, lax] = await Promise.all([run('0.1'), run('0.9')]);
    tags.push(strict.tag, lax.tag);
    backend.child.kill('SIGTERM');
    await backend.exit;

    const record = JSON.parse(readFileSync(join(dir, '0.1.json'), 'utf8')) as RunRecord;
    expect(record.totals.requests).toBe(400);
    // 400 draws at 0.5: 160-240 errors holds with a margin of more than 4 standard deviations.
    expect(record.totals.errors).toBeGreaterThan(160);
    expect(record.totals.errors).toBeLessThan(240);
    expect(strict.code, strict.stderr).toBe(3);
    expect(strict.stdout).toMatch(/^lblab load · /);
    const pct = ((record.totals.errors / 400) * 100).toFixed(2);
    expect(strict.stderr.trim().split('\n').at(-1)).toBe(`lblab: error rate ${pct}% (${record.totals.errors} of 400) is above --fail-on-errors 0.1 (10.00%)`);

    expect(lax.code, lax.stderr).toBe(0);
    expect(lax.stderr).not.toMatch(/fail-on-errors/);
    expect((JSON.parse(readFileSync(join(dir, '0.9.json'), 'utf8')) as RunRecord).totals.requests).toBe(400);
  });

  it('start --fail-on-errors judges the error rate the clients saw, after the report', async () => {
    // b1 answers 500 to everything and 500 is not retried by default: about half the requests fail.
    const r = await runCliToEnd(['start', '--backends', '2', '--error-rate', 'b1=1', '--requests', '200', '--concurrency', '4', '--fail-on-errors', '0.2', '--json']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(3);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.totals.requests).toBe(200);
    expect(record.totals.errors).toBeGreaterThan(60);
    const pct = ((record.totals.errors / 200) * 100).toFixed(2);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(`lblab: error rate ${pct}% (${record.totals.errors} of 200) is above --fail-on-errors 0.2 (20.00%)`);
  });
});

describe('lblab report', () => {
  it('re-prints exactly the report the run printed, from --out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lblab-report-'));
    const out = join(dir, 'run.json');
    const run = await runCliToEnd(['start', '--backends', '2', '--algo', 'weighted', '--duration', '2s', '--concurrency', '4', '--out', out]);
    tags.push(run.tag);
    expect(run.code, run.stderr).toBe(0);
    const record = JSON.parse(readFileSync(out, 'utf8')) as RunRecord;
    expect(record.config.weights).toEqual([2, 1]);
    const again = await runCliToEnd(['report', out]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(run.stdout);
    expect(again.stdout).toMatch(/^lblab start · weighted \(weights 2,1\)/);
  });
});

describe('values at the edge of their range', () => {
  it('a tiny error rate (written 1e-7 when passed to the backend) is accepted', async () => {
    const r = await runCliToEnd(['start', '--backends', '1', '--error-rate', '0.0000001', '--duration', '1s', '--concurrency', '1', '--json']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as RunRecord).totals.requests).toBeGreaterThan(0);
  });
});
