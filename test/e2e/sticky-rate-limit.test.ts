import http from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { cleanUpAfterEach, runCli, runCliToEnd, listeningPort } from '../support/cli.js';
import { listenLoopback } from '../support/loopback.js';

/** `--sticky` and `--rate-limit` as a user runs them: the record fields, the report lines, and the cookie on the wire. */

const { servers, tags } = cleanUpAfterEach();

describe('sticky sessions and rate limit from the command line', () => {
  it('start --rate-limit: 429s counted at the balancer and by the client alike, in the record and the report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lblab-rl-'));
    const out = join(dir, 'run.json');
    const r = await runCliToEnd(['start', '--backends', '2', '--rate-limit', '50/s:5', '--sticky', 'ip:5s', '--headless', '--duration', '2s', '--out', out]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(readFileSync(out, 'utf8')) as RunRecord;
    expect(record.config.proxy?.rateLimit).toEqual({ ratePerSecond: 50, burst: 5 });
    expect(record.config.proxy?.sticky).toEqual({ mode: 'ip', ttlMs: 5000, size: 100_000 });
    const limited = record.totals.rateLimited!;
    expect(limited).toBeGreaterThan(0);
    // The client saw them all, but for at most the 16 in flight when the load stopped.
    expect(record.totals.statusCodes['429']).toBeLessThanOrEqual(limited);
    expect(record.totals.statusCodes['429']).toBeGreaterThanOrEqual(limited - 16);
    // One client address (127.0.0.1) at 50/s for about 2 s, with the bucket's 6 at the start.
    expect(record.totals.statusCodes['200']).toBeLessThanOrEqual(6 + 50 * 2.5);
    expect(r.stdout).toMatch(/rate-limited \d+ \(429\)/);
    expect(r.stdout).toMatch(/sticky ip 5s \(stick table of 100000\) · rate limit 50\/s burst 5 per client IP/);
    const again = await runCliToEnd(['report', out]);
    expect(again.stdout).toBe(r.stdout);
  });

  it('start --sticky cookie --clients 50: each virtual client keeps one backend by its own cookie jar; b2 killed, its clients move once and stay', async () => {
    const r = await runCliToEnd([
      'start', '--backends', '3', '--sticky', 'cookie', '--clients', '50', '--concurrency', '8', '--duration', '6s', '--event', '2s kill b2', '--headless', '--json',
    ]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    // Retries hide the requests that met the dead b2: no client saw an error.
    expect(record.totals.errors).toBe(0);
    const touched = record.clients!.touched;
    expect(record.clients!.total).toBe(50);
    // No client met three backends: the others never moved, b2's moved once (round robin gave b2 about a third of them).
    expect(Object.keys(touched).sort()).toEqual(['1', '2']);
    expect(touched['2']).toBeGreaterThanOrEqual(12);
    expect(touched['2']).toBeLessThanOrEqual(22);
    // After the kill b2 served nothing once it was DOWN.
    const down = record.backends[1]!.health.transitions.find((t) => t.to === 'down')!;
    const afterDown = record.timeline.filter((p) => p.atMs > down.atMs + 1000).reduce((n, p) => n + (p.perBackend.b2 ?? 0), 0);
    expect(afterDown).toBe(0);
  });

  it('balance --sticky cookie:LBID: the first answer sets an opaque cookie, later ones follow it without setting it again', async () => {
    const backends = await Promise.all(
      [0, 1, 2].map(async () => {
        const server = http.createServer((req, res) => res.end(`cookie seen: ${req.headers.cookie ?? '-'}`));
        const port = await listenLoopback(server);
        servers.push(server);
        return `http://127.0.0.1:${port}`;
      }),
    );
    const run = runCli(['balance', '--port', '0', '--sticky', 'cookie:LBID', ...backends.flatMap((b) => ['--backend', b])]);
    tags.push(run.tag);
    const port = await listeningPort(run);
    const base = `http://127.0.0.1:${port}/`;
    const first = await fetch(base);
    await first.text();
    const setCookie = first.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^LBID=[\w-]+; Path=\/; HttpOnly$/);
    expect(first.headers.get('cache-control')).toBe('private, no-cache="set-cookie"');
    const id = setCookie.split(';')[0]!;
    // Opaque: 22 base64url characters (128 bits), not the backend's name or address.
    const value = id.slice('LBID='.length);
    expect(value).toMatch(/^[\w-]{22}$/);
    expect(['b1', 'b2', 'b3', '127.0.0.1', first.headers.get('x-lblab-backend')]).not.toContain(value);
    for (let i = 0; i < 6; i++) {
      const res = await fetch(base, { headers: { cookie: `${id}; user=ann` } });
      expect(await res.text()).toBe('cookie seen: user=ann');
      expect(res.headers.get('x-lblab-backend')).toBe(first.headers.get('x-lblab-backend'));
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toMatch(/sticky cookie LBID \(insert indirect nocache\)/);
  });
});
