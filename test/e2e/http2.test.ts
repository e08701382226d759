import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { runCliToEnd, runsAfterEach, type CliRun } from '../support/cli.js';

/**
 * `lblab balance --http2` as a real external client sees it: curl, over
 * h2c with prior knowledge and over TLS (ALPN), against real `lblab
 * backend` processes; who served each request is its `x-lblab-backend`.
 */

const run = promisify(execFile);
const { start, tags } = runsAfterEach();

/** Three real backends b1…b3 and `lblab balance --http2 [extra]` over them (round robin); resolves to the balance run and its URL. */
async function balancer(extra: string[]): Promise<{ bal: CliRun; url: string }> {
  const urls: string[] = [];
  for (const name of ['b1', 'b2', 'b3']) {
    const b = start(['backend', '--port', '0', '--name', name, '--latency', '0ms']);
    urls.push(`http://127.0.0.1:${(await b.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)\//))[1]}`);
  }
  const bal = start(['balance', '--http2', '--port', '0', '--json', '--health-interval', '30s', ...extra, ...urls.flatMap((u) => ['--backend', u])]);
  const m = await bal.waitFor(/listening on (https?):\/\/127\.0\.0\.1:(\d+)\//);
  return { bal, url: `${m[1]}://127.0.0.1:${m[2]}` };
}

/** curl with `args` on `urls` (one invocation: curl reuses its connection); per URL: HTTP version, connections opened for it, x-lblab-backend. */
async function curl(args: string[], urls: string[]): Promise<Array<{ version: string; connects: number; backend: string }>> {
  const { stdout } = await run('curl', ['-s', '-k', ...args, '-w', '%{http_version} %{num_connects} %header{x-lblab-backend}\\n', ...urls.flatMap((u) => ['-o', '/dev/null', u])], { timeout: 20_000 });
  return stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [version, connects, backend] = line.split(' ');
      return { version: version!, connects: Number(connects), backend: backend! };
    });
}

/** curl's version, e.g. [7, 88]. */
async function curlVersion(): Promise<[number, number]> {
  const { stdout } = await run('curl', ['--version']);
  const m = /^curl (\d+)\.(\d+)/.exec(stdout)!;
  return [Number(m[1]), Number(m[2])];
}

/**
 * curl before 8.0 cannot reuse an h2c prior-knowledge connection for a
 * second URL ("Error in the HTTP2 framing layer", curl issue #10634, fixed
 * in 8.0.0); Debian 12 ships 7.88. Over TLS its reuse works.
 */
const curlReusesH2c = (await curlVersion())[0] >= 8;

describe('lblab balance --http2 with curl', () => {
  it('h2 over TLS: six URLs on one connection get x-lblab-backend b1 b2 b3 b1 b2 b3; the record counts 1 HTTP/2 connection carrying 6 streams', async () => {
    const { bal, url } = await balancer(['--tls']);
    const paths = ['/a', '/b', '/c', '/d', '/e', '/f'].map((p) => url + p);
    const got = await curl(['--http2'], paths);
    expect(got.map((g) => g.version)).toEqual(['2', '2', '2', '2', '2', '2']);
    // One connection for all six: curl opened it for the first URL and reused it.
    expect(got.map((g) => g.connects)).toEqual([1, 0, 0, 0, 0, 0]);
    expect(got.map((g) => g.backend)).toEqual(['b1', 'b2', 'b3', 'b1', 'b2', 'b3']);
    bal.child.kill('SIGTERM');
    expect(await bal.exit).toBe(0);
    const record = JSON.parse(bal.stdout()) as RunRecord;
    expect(record.config.http2).toBe(true);
    expect(record.totals.http2).toMatchObject({ connections: 1, streams: 6 });
  });

  it('curl --http2-prior-knowledge (h2c) cycles b1 b2 b3 under round robin; plain HTTP/1.1 is served on the same port', async () => {
    const { bal, url } = await balancer([]);
    const paths = ['/a', '/b', '/c', '/d', '/e', '/f'].map((p) => url + p);
    // With a curl that reuses h2c connections, all six go on one; with 7.88, one per invocation.
    const got = curlReusesH2c ? await curl(['--http2-prior-knowledge'], paths) : (await Promise.all(paths.map(async (p, i) => [i, await curl(['--http2-prior-knowledge'], [p])] as const))).sort((x, y) => x[0] - y[0]).flatMap(([, g]) => g);
    expect(got.map((g) => g.version)).toEqual(['2', '2', '2', '2', '2', '2']);
    expect(new Set(got.map((g) => g.backend))).toEqual(new Set(['b1', 'b2', 'b3']));
    if (curlReusesH2c) expect(got.map((g) => g.backend)).toEqual(['b1', 'b2', 'b3', 'b1', 'b2', 'b3']);
    const h1 = await curl(['--http1.1'], [url + '/h1']);
    expect(h1[0]!.version).toBe('1.1');
    bal.child.kill('SIGTERM');
    expect(await bal.exit).toBe(0);
    const record = JSON.parse(bal.stdout()) as RunRecord;
    expect(record.totals.http2!.streams).toBe(6);
    // Seven requests in one round robin turn, whatever connection they came on: b1 b2 b3 b1 b2 b3 b1.
    expect(record.backends.map((b) => b.requests)).toEqual([3, 2, 2]);
    expect(record.totals.requests).toBe(7);
  });

  it('lblab load --protocol http2 --connections 2 --streams 8: 300 requests on exactly 2 connections, 100 per backend', async () => {
    const { bal, url } = await balancer([]);
    const load = await runCliToEnd(['load', `${url}/`, '--protocol', 'http2', '--connections', '2', '--streams', '8', '--requests', '300', '--json'], 30_000);
    tags.push(load.tag);
    expect(load.code, load.stderr).toBe(0);
    const seen = JSON.parse(load.stdout) as RunRecord;
    expect(seen.config).toMatchObject({ protocol: 'http2', connections: 2, streams: 8, concurrency: 16 });
    expect(seen.totals.requests).toBe(300);
    expect(Object.fromEntries(seen.backends.map((b) => [b.name, b.requests]))).toEqual({ b1: 100, b2: 100, b3: 100 });
    bal.child.kill('SIGTERM');
    expect(await bal.exit).toBe(0);
    const record = JSON.parse(bal.stdout()) as RunRecord;
    expect(record.totals.http2).toMatchObject({ connections: 2, streams: 300 });
    expect(record.totals.http2!.maxConcurrentStreams).toBeLessThanOrEqual(8);
  });

  it('bad input: --http2 with --mode tcp exits 2 naming both, and nothing is left running', async () => {
    for (const args of [
      ['balance', '--http2', '--mode', 'tcp', '--backend', 'http://127.0.0.1:8001'],
      ['start', '--http2', '--mode', 'tcp', '--backends', '2', '--headless', '--duration', '1s'],
    ]) {
      const r = await runCliToEnd(args, 20_000);
      tags.push(r.tag);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/`--http2` only with `--mode http`.*got it with `--mode tcp`/);
    }
  });

  it('bad input: --protocol and its flags exit 2 in one line naming the flag', async () => {
    const url = 'http://127.0.0.1:8001/';
    const cases: Array<[string[], RegExp]> = [
      [['load', url, '--protocol', 'http3'], /`--protocol` to be one of http, http2, ws, got "http3"/],
      [['load', url, '--streams', '8'], /`--streams` only with `--protocol http2`/],
      [['load', url, '--protocol', 'http2', '--concurrency', '8'], /`--concurrency` not with `--protocol http2` \(the streams are the workers/],
      [['load', url, '--protocol', 'http2', '--clients', '4'], /`--clients` not with `--protocol http2`/],
      [['load', url, '--protocol', 'http2', '--streams', '500'], /`--streams`/],
      [['start', '--backends', '2', '--protocol', 'http2', '--no-keep-alive', '--headless', '--duration', '1s'], /`--no-keep-alive` not with `--protocol http2`/],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCliToEnd(args, 20_000)));
    for (const [i, r] of runs.entries()) {
      tags.push(r.tag);
      expect(r.code, cases[i]![0].join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(cases[i]![1]);
    }
  });
});
